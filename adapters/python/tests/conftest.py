"""Starts a real coordinator (``fenced serve``) for the whole session, on a temporary SQLite file, and makes sure no
test can phone home: CrewAI and OpenTelemetry telemetry are off and no model key is set."""

from __future__ import annotations

import os
import socket
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Before any framework is imported: nothing may reach the network (no telemetry, no tracing, no version check).
os.environ.update(
    {
        "OTEL_SDK_DISABLED": "true",
        "CREWAI_DISABLE_TELEMETRY": "true",
        "CREWAI_DISABLE_TRACKING": "true",
        "CREWAI_TRACING_ENABLED": "false",
        "CREWAI_DISABLE_VERSION_CHECK": "true",
        "CREWAI_TESTING": "true",
        "CREWAI_STORAGE_DIR": tempfile.mkdtemp(prefix="fenced-crewai-"),
    }
)
for key in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"):
    os.environ.pop(key, None)

# And to prove it: any connection or name lookup beyond loopback fails and is recorded; each test asserts none.
_OUTBOUND: list[object] = []
_real_connect, _real_getaddrinfo = socket.socket.connect, socket.getaddrinfo


def _is_loopback(host: object) -> bool:
    return isinstance(host, str) and (host in ("localhost", "::1") or host.startswith("127."))


def _loopback_connect(self: socket.socket, address: Any) -> None:
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):
        _OUTBOUND.append(address)
        raise ConnectionRefusedError(f"tests may not reach {address}")
    return _real_connect(self, address)


def _loopback_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if host is not None and not _is_loopback(host):
        _OUTBOUND.append(host)
        raise socket.gaierror(f"tests may not resolve {host}")
    return _real_getaddrinfo(host, *args, **kwargs)


socket.socket.connect = _loopback_connect  # type: ignore[method-assign]
socket.getaddrinfo = _loopback_getaddrinfo

from fenced_state import Client  # noqa: E402
from fenced_state.coordinator import LocalCoordinator  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]


#: The coordinator from this checkout, through tsx: no build step needed.
SERVE_COMMAND = ["node", "--import", "tsx", "src/cli/main.ts", "serve"]


def start_coordinator(args: list[str], env: dict[str, str] | None = None) -> LocalCoordinator:
    return LocalCoordinator(*args, command=SERVE_COMMAND, cwd=ROOT, env=env)


@pytest.fixture(scope="session")
def coordinator() -> Iterator[LocalCoordinator]:
    with tempfile.TemporaryDirectory(prefix="fenced-pytest-") as tmp:
        server = start_coordinator(["--db", str(Path(tmp) / "state.db")])
        try:
            yield server
        finally:
            assert server.stop() == 0, "fenced serve must exit 0 on SIGTERM"


@pytest.fixture()
def client(coordinator: LocalCoordinator) -> Iterator[Client]:
    with Client(coordinator.url) as c:
        yield c


@pytest.fixture()
def ns() -> str:
    """A key prefix no other test uses: the coordinator is shared by the whole session."""
    return f"py-{uuid.uuid4().hex[:10]}"


@pytest.fixture()
def coordinator_url(coordinator: LocalCoordinator) -> str:
    return coordinator.url


@pytest.fixture(autouse=True)
def no_outbound_network() -> Iterator[None]:
    """Fails the test during which anything (CrewAI, AutoGen, OpenTelemetry) tried to leave loopback."""
    seen = len(_OUTBOUND)
    yield
    assert _OUTBOUND[seen:] == [], f"tried to reach the network: {_OUTBOUND[seen:]}"
