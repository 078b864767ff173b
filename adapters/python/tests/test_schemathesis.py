"""schemathesis (property-based API fuzzing) against the ``/openapi.json`` of a live ``fenced serve`` on loopback: no
request — valid, invalid, or garbage — gets a 5xx, and every response's status, content type, headers and body
conform to the document (G6: bad input is a typed 4xx and nothing else). With a token, every operation but
``/healthz`` also refuses requests without it or with a wrong one (``ignored_auth``).

The run is the schemathesis CLI in a child process with a bounded number of examples per operation. The 5xx count
is read twice: schemathesis' ``not_a_server_error`` check fails the run on any, and the coordinator's own
``/metrics`` must show none among all the requests it answered.
"""

from __future__ import annotations

import re
import subprocess
import sys
import urllib.request
from pathlib import Path

from .conftest import start_coordinator

CONFIG = Path(__file__).with_name("schemathesis.toml")

#: Checks left out, each for a reason: an undeclared method (TRACE /v1/commit) gets 404 NOT_FOUND with a typed
#: body, not 405 — the error table has no 405 code.
EXCLUDED_CHECKS = "unsupported_method"


def fuzz(
    url: str, max_examples: int, cwd: Path, headers: tuple[str, ...] = ()
) -> tuple[subprocess.CompletedProcess[str], int]:
    """Runs ``st run`` against ``url``; returns the finished process and the number of test cases it generated."""
    header_args = [arg for h in headers for arg in ("-H", h)]
    proc = subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG), "--no-color", "run", f"{url}/openapi.json",
         *header_args, "--checks", "all", "--exclude-checks", EXCLUDED_CHECKS, "--max-examples", str(max_examples),
         "--workers", "1", "--generation-database", "none"],
        cwd=cwd, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    generated = re.search(r"(\d+) generated", proc.stdout)
    return proc, int(generated.group(1)) if generated else 0


def server_statuses(url: str, headers: dict[str, str] | None = None) -> dict[str, int]:
    """Requests answered by the coordinator, by status, from its Prometheus counters."""
    with urllib.request.urlopen(urllib.request.Request(f"{url}/metrics", headers=headers or {}), timeout=10) as res:
        text = res.read().decode()
    counts: dict[str, int] = {}
    for status, n in re.findall(r'^fenced_http_requests_total\{[^}]*status="(\d+)"\} (\d+)$', text, re.M):
        counts[status] = counts.get(status, 0) + int(n)
    return counts


def test_G6_fuzzing_the_openapi_document_gets_no_5xx_and_only_documented_responses(tmp_path: Path) -> None:
    server = start_coordinator(["--db", str(tmp_path / "fuzz.db")])
    try:
        proc, cases = fuzz(server.url, 100, tmp_path)
        statuses = server_statuses(server.url)
    finally:
        assert server.stop() == 0
    assert proc.returncode == 0, proc.stdout[-8000:] + proc.stderr[-2000:]
    server_errors = sum(n for s, n in statuses.items() if s.startswith("5"))
    print(f"schemathesis: {cases} cases, statuses answered {statuses}, 5xx {server_errors}")
    assert cases >= 500, proc.stdout[-3000:]
    assert sum(statuses.values()) > cases // 2  # /metrics counts every route but the watch stream
    assert server_errors == 0
    assert statuses.get("200", 0) > 0 and statuses.get("400", 0) > 0  # both valid and invalid input were sent


def test_with_a_token_every_operation_but_healthz_refuses_requests_without_it(tmp_path: Path) -> None:
    token = "fuzz-token-5d1c0b9a7e"
    server = start_coordinator(["--memory"], env={"FENCED_TOKEN": token})
    auth = f"Bearer {token}"
    try:
        proc, cases = fuzz(server.url, 10, tmp_path, headers=(f"Authorization: {auth}",))
        statuses = server_statuses(server.url, {"Authorization": auth})
    finally:
        assert server.stop() == 0
    assert proc.returncode == 0, proc.stdout[-8000:] + proc.stderr[-2000:]
    print(f"schemathesis with a token: {cases} cases, statuses answered {statuses}")
    assert cases >= 100, proc.stdout[-3000:]
    assert not any(s.startswith("5") for s in statuses)
    assert statuses.get("401", 0) > 0  # ignored_auth sent requests without the token, and they were refused
