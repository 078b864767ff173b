"""Starts a real coordinator (``fenced serve``) for the whole session, on a temporary SQLite file, and makes sure no
test can phone home: CrewAI and OpenTelemetry telemetry are off and no model key is set."""

from __future__ import annotations

import os
import tempfile
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
