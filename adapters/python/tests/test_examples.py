"""The CrewAI and AutoGen examples run offline and say what they show — run here so they cannot rot."""

from __future__ import annotations

import os
import subprocess
import sys

from fenced_state.coordinator import LocalCoordinator

from .conftest import ROOT


def run_example(name: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / name / "main.py")],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_the_crewai_example_shows_the_loser_flow_getting_the_conflict(coordinator: LocalCoordinator) -> None:
    out = run_example("crewai-flows", {"FENCED_URL": coordinator.url})
    assert "alice: saved" in out
    assert "bob: VERSION_CONFLICT (expected version 1, found 2) -> reload and redo" in out
    assert "stored sections: ['section by seed', 'section by alice', 'section by bob']" in out
    assert "findings: ['sections are fenced']" in out


def test_the_autogen_example_starts_its_own_coordinator_and_shows_the_typed_conflict() -> None:
    out = run_example("autogen-teams", {})  # no FENCED_URL: it starts `fenced serve --memory` itself
    assert "Shared memory after 5 concurrent adds: 5 items" in out
    assert "Team A saves: version 2" in out
    assert "Team B saves: VERSION_CONFLICT" in out and "Team B saves: version 3" in out
    assert "Stored state holds both teams' work." in out
