"""CrewAI (the real ``crewai`` package, a scripted LLM, no network): flows sharing a state id never overwrite each
other, and agents use the shared-state tools with typed conflicts."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from crewai import Agent, Crew, Task
from crewai.flow.flow import Flow, listen, start
from crewai.flow.persistence import SQLiteFlowPersistence, persist
from crewai.flow.persistence.base import FlowPersistence
from crewai.llms.base_llm import BaseLLM
from pydantic import BaseModel

from fenced_state import Client, VersionConflictError, find_fenced_error, op
from fenced_state.crewai import FencedFlowPersistence, shared_state_tools


class ScriptedLLM(BaseLLM):
    """Answers with the next scripted ReAct message; records what it was sent."""

    replies: list[str]
    seen: list[Any] = []

    def call(
        self,
        messages: Any,
        tools: Any = None,
        callbacks: Any = None,
        available_functions: Any = None,
        from_task: Any = None,
        from_agent: Any = None,
        response_model: Any = None,
    ) -> str:
        self.seen.append(messages)
        return self.replies.pop(0)


class Notes(BaseModel):
    id: str = ""
    notes: list[str] = []


def note_flow(
    persistence: FlowPersistence, barrier: threading.Barrier | None, wait_for: threading.Event | None
) -> type[Flow[Notes]]:
    """A two-step flow that appends its writer's name; class-level @persist shares one persistence, as CrewAI users do."""

    @persist(persistence)
    class NoteFlow(Flow[Notes]):
        writer: str = ""

        @start()
        def draft(self) -> None:
            if barrier is not None:
                barrier.wait(10)  # both flows have loaded the same state before either saves
            if wait_for is not None and self.writer == "b":
                wait_for.wait(10)  # b saves only after a has finished: a deterministic loser
            self.state.notes.append(self.writer)

        @listen(draft)
        def publish(self) -> None:
            self.state.notes.append(f"{self.writer}-published")

    return NoteFlow


def race_two_flows(persistence: FlowPersistence) -> tuple[list[str], dict[str, BaseException | None], Any]:
    """Seeds one state, then runs flows a and b on its id concurrently. Returns (seed notes, outcomes, final notes)."""
    seed = note_flow(persistence, None, None)()
    seed.writer = "seed"
    seed.kickoff()
    state_id = seed.state.id
    barrier, a_done = threading.Barrier(2), threading.Event()
    flow_class = note_flow(persistence, barrier, a_done)
    outcomes: dict[str, BaseException | None] = {}

    def run(writer: str) -> None:
        flow = flow_class()
        flow.writer = writer
        try:
            flow.kickoff(inputs={"id": state_id})
            outcomes[writer] = None
        except Exception as err:  # noqa: BLE001 - recorded and asserted on
            outcomes[writer] = err
        finally:
            if writer == "a":
                a_done.set()

    threads = [threading.Thread(target=run, args=(w,)) for w in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    final = persistence.load_state(state_id)
    return ["seed", "seed-published"], outcomes, final["notes"] if final else None


def test_G1_two_flows_on_one_state_id_one_wins_the_other_gets_the_typed_conflict(client: Client, ns: str) -> None:
    persistence = FencedFlowPersistence(client=client, prefix=f"{ns}/flows")
    seeded, outcomes, final = race_two_flows(persistence)
    assert outcomes["a"] is None
    conflict = find_fenced_error(outcomes["b"])
    assert isinstance(conflict, VersionConflictError) and conflict.retryable
    assert final == [*seeded, "a", "a-published"], "the loser must not overwrite the winner"


def test_the_official_SQLiteFlowPersistence_silently_loses_the_winners_write(tmp_path: Path) -> None:
    """The problem being solved, on CrewAI's own default persistence: no error, and a's notes are gone."""
    seeded, outcomes, final = race_two_flows(SQLiteFlowPersistence(db_path=str(tmp_path / "flows.db")))
    assert outcomes == {"a": None, "b": None}
    assert final == [*seeded, "b", "b-published"]


def test_a_flow_saves_each_step_and_a_later_run_continues_from_the_newest_state(client: Client, ns: str) -> None:
    persistence = FencedFlowPersistence(client=client, prefix=f"{ns}/flows")
    flow_class = note_flow(persistence, None, None)
    first = flow_class()
    first.writer = "one"
    first.kickoff()
    record = client.read(f"{ns}/flows/{first.state.id}")
    assert record.version == 2 and record.value["method"] == "publish"  # one save per persisted method
    second = flow_class()
    second.writer = "two"
    second.kickoff(inputs={"id": first.state.id})
    assert persistence.load_state(first.state.id)["notes"] == ["one", "one-published", "two", "two-published"]


def test_agents_use_the_shared_state_tools_and_see_typed_conflicts(client: Client, ns: str) -> None:
    client.commit(f"{ns}/plan", op.set("v1"))  # version 1: the agent below presents a stale version 0 first
    llm = ScriptedLLM(
        model="scripted",
        replies=[
            'Thought: count my visit\nAction: update_shared_state\nAction Input: {"key": "visits", "op": "increment", "argument": 1}',
            'Thought: replace the plan\nAction: commit_shared_state\nAction Input: {"key": "plan", "value": "v2", "expect_version": 0}',
            'Thought: conflict, read again\nAction: read_shared_state\nAction Input: {"key": "plan"}',
            'Thought: retry at the version I read\nAction: commit_shared_state\nAction Input: {"key": "plan", "value": "v2", "expect_version": 1}',
            "Thought: I now know the final answer\nFinal Answer: plan updated",
        ],
    )
    agent = Agent(
        role="planner", goal="keep the plan current", backstory="careful", llm=llm, tools=shared_state_tools(client, ns)
    )
    task = Task(description="Update the plan to v2", expected_output="a sentence", agent=agent)
    result = Crew(agents=[agent], tasks=[task]).kickoff()
    assert result.raw == "plan updated" and llm.replies == []
    assert client.read(f"{ns}/visits").value == 1
    assert client.read(f"{ns}/plan").value == "v2" and client.read(f"{ns}/plan").version == 2
    transcript = json.dumps(llm.seen)
    assert '\\"code\\": \\"VERSION_CONFLICT\\"' in transcript  # the model was shown the typed conflict
    assert '\\"expectedVersion\\": 0, \\"actualVersion\\": 1' in transcript
