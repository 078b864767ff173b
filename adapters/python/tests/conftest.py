"""Starts a real coordinator (``fenced serve``) for the whole session, on a temporary SQLite file, and makes sure no
test can phone home: CrewAI and OpenTelemetry telemetry are off and no model key is set."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Iterator

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

from fenced_state import Client  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]


class Coordinator:
    """A ``fenced serve`` child process; ``url`` is where it listens."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            ["node", "--import", "tsx", "src/cli/main.ts", "serve", "--port", "0", *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        found: list[str] = []
        ready = threading.Event()

        def read_stdout() -> None:
            assert self.process.stdout is not None
            for line in self.process.stdout:
                m = re.search(r"listening on (http://\S+)", line)
                if m and not found:
                    found.append(m.group(1))
                    ready.set()
            ready.set()

        threading.Thread(target=read_stdout, daemon=True).start()
        if not ready.wait(60) or not found:
            self.stop()
            raise RuntimeError(f"fenced serve did not start: {self.process.stderr.read() if self.process.stderr else ''}")
        self.url = found[0]

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


@pytest.fixture(scope="session")
def coordinator() -> Iterator[Coordinator]:
    with tempfile.TemporaryDirectory(prefix="fenced-pytest-") as tmp:
        server = Coordinator(["--db", str(Path(tmp) / "state.db")])
        try:
            yield server
        finally:
            assert server.stop() == 0, "fenced serve must exit 0 on SIGTERM"


@pytest.fixture()
def client(coordinator: Coordinator) -> Iterator[Client]:
    with Client(coordinator.url) as c:
        yield c


@pytest.fixture()
def ns() -> str:
    """A key prefix no other test uses: the coordinator is shared by the whole session."""
    return f"py-{uuid.uuid4().hex[:10]}"


@pytest.fixture()
def coordinator_url(coordinator: Coordinator) -> str:
    return coordinator.url
