"""Two CrewAI flows resume one saved report at the same time and each adds a section. With CrewAI's own
SQLiteFlowPersistence the second save silently overwrites the first; with FencedFlowPersistence the second gets a
typed VERSION_CONFLICT, reloads the winner's state and redoes its step. Then an agent updates shared state through
the fenced-state tools.

Offline, no API keys (a scripted LLM):  .venv/bin/python examples/crewai-flows/main.py
Uses FENCED_URL if set, else starts a local coordinator from this checkout.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

os.environ.update(OTEL_SDK_DISABLED="true", CREWAI_DISABLE_TELEMETRY="true", CREWAI_TRACING_ENABLED="false", CREWAI_DISABLE_VERSION_CHECK="true")

from crewai import Agent, Crew, Task  # noqa: E402
from crewai.flow.flow import Flow, start  # noqa: E402
from crewai.flow.persistence import persist  # noqa: E402
from crewai.llms.base_llm import BaseLLM  # noqa: E402
from pydantic import BaseModel  # noqa: E402

from fenced_state import Client, VersionConflictError, find_fenced_error  # noqa: E402
from fenced_state.coordinator import LocalCoordinator  # noqa: E402
from fenced_state.crewai import FencedFlowPersistence, shared_state_tools  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


class Report(BaseModel):
    id: str = ""
    sections: list[str] = []


def report_flow(persistence: FencedFlowPersistence, both_loaded: threading.Barrier, alice_saved: threading.Event) -> type[Flow[Report]]:
    @persist(persistence)
    class ReportFlow(Flow[Report]):
        author: str = ""
        racing: bool = False

        @start()
        def write_section(self) -> None:
            if self.racing:
                both_loaded.wait(10)  # both runs have loaded the same saved report
                if self.author == "bob":
                    alice_saved.wait(10)  # bob saves second: he is the one who would overwrite
            self.state.sections.append(f"section by {self.author}")

    return ReportFlow


class ScriptedLLM(BaseLLM):
    """Stands in for a model: replies with the next scripted ReAct step."""

    replies: list[str]

    def call(self, messages: Any, *args: Any, **kwargs: Any) -> str:
        return self.replies.pop(0)


def main(url: str) -> None:
    client = Client(url)
    both_loaded, alice_saved = threading.Barrier(2), threading.Event()
    ReportFlow = report_flow(FencedFlowPersistence(client=client, prefix="examples/crewai/reports"), both_loaded, alice_saved)

    seed = ReportFlow()
    seed.author = "seed"
    seed.kickoff()
    report_id = seed.state.id

    def resume(author: str) -> None:
        flow = ReportFlow()
        flow.author, flow.racing = author, True
        try:
            flow.kickoff(inputs={"id": report_id})
            print(f"  {author}: saved")
        except RuntimeError as err:  # CrewAI wraps what persistence raises; the typed error is its cause
            conflict = find_fenced_error(err)
            if not isinstance(conflict, VersionConflictError):
                raise
            print(f"  {author}: {conflict.code} (expected version {conflict.details['expectedVersion']}, found {conflict.details['actualVersion']}) -> reload and redo")
            retry = ReportFlow()
            retry.author = author
            retry.kickoff(inputs={"id": report_id})
            print(f"  {author}: saved on top of alice's section")
        finally:
            if author == "alice":
                alice_saved.set()

    print("Two flows resume the same report and each adds a section:")
    runs = [threading.Thread(target=resume, args=(who,)) for who in ("alice", "bob")]
    for t in runs:
        t.start()
    for t in runs:
        t.join()
    sections = client.read(f"examples/crewai/reports/{report_id}").value["state"]["sections"]
    print(f"  stored sections: {sections}")
    assert sections == ["section by seed", "section by alice", "section by bob"], sections

    print("An agent counts its visit and records a finding through the shared-state tools:")
    llm = ScriptedLLM(
        model="scripted",
        replies=[
            'Thought: count the visit\nAction: update_shared_state\nAction Input: {"key": "visits", "op": "increment", "argument": 1}',
            'Thought: record the finding\nAction: update_shared_state\nAction Input: {"key": "findings", "op": "append", "argument": "sections are fenced"}',
            "Thought: I now know the final answer\nFinal Answer: done",
        ],
    )
    agent = Agent(role="analyst", goal="record findings", backstory="precise", llm=llm, tools=shared_state_tools(client, "examples/crewai/team"))
    Crew(agents=[agent], tasks=[Task(description="Record a finding", expected_output="done", agent=agent)]).kickoff()
    print(f"  visits: {client.read('examples/crewai/team/visits').value}, findings: {client.read('examples/crewai/team/findings').value}")


if __name__ == "__main__":
    if "FENCED_URL" in os.environ:
        main(os.environ["FENCED_URL"])
    else:
        with LocalCoordinator("--memory", command=["node", "--import", "tsx", "src/cli/main.ts", "serve"], cwd=ROOT) as coordinator:
            main(coordinator.url)
