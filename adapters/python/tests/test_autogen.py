"""AutoGen (the real autogen-agentchat / autogen-core 0.7, ``ReplayChatCompletionClient``, no network): a shared
``Memory`` that loses no item, and fenced team/agent state where of two teams saving one state, one wins and the
other gets the typed conflict."""

from __future__ import annotations

import asyncio

import pytest
from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.conditions import MaxMessageTermination
from autogen_agentchat.messages import MemoryQueryEvent, TextMessage
from autogen_agentchat.teams import RoundRobinGroupChat
from autogen_core.memory import Memory, MemoryContent, MemoryMimeType
from autogen_ext.models.replay import ReplayChatCompletionClient

from fenced_state import Client, VersionConflictError
from fenced_state.autogen import FencedMemory, FencedStateSlot


def make_team(name: str, replies: list[str], memory: list[Memory] | None = None) -> RoundRobinGroupChat:
    agent = AssistantAgent(name, model_client=ReplayChatCompletionClient(replies), memory=memory)
    return RoundRobinGroupChat([agent], termination_condition=MaxMessageTermination(2))


def text(content: str) -> MemoryContent:
    return MemoryContent(content=content, mime_type=MemoryMimeType.TEXT)


def test_an_agent_reads_fenced_memory_into_its_context(client: Client, ns: str) -> None:
    async def scenario() -> None:
        memory = FencedMemory(client, f"{ns}/memory")
        await memory.add(text("The user prefers metric units"))
        result = await make_team("helper", ["Noted: metric."], [memory]).run(task="How tall is Everest?")
        events = [m for m in result.messages if isinstance(m, MemoryQueryEvent)]
        assert len(events) == 1 and events[0].content[0].content == "The user prefers metric units"
        assert [m.content for m in result.messages if isinstance(m, TextMessage)] == [
            "How tall is Everest?",
            "Noted: metric.",
        ]
        assert [m.content for m in (await memory.query("METRIC")).results] == ["The user prefers metric units"]
        assert (await memory.query("imperial")).results == []

    asyncio.run(scenario())


def test_G1_memories_added_concurrently_by_many_agents_all_land(coordinator_url: str, ns: str) -> None:
    async def scenario() -> None:
        memories = [FencedMemory(Client(coordinator_url), f"{ns}/shared", name=f"agent-{i}") for i in range(4)]
        await asyncio.gather(*(m.add(text(f"{m.name}: fact {j}")) for m in memories for j in range(10)))
        stored = sorted(str(c.content) for c in (await memories[0].query()).results)
        assert stored == sorted(f"agent-{i}: fact {j}" for i in range(4) for j in range(10))
        await memories[0].clear()
        assert (await memories[1].query()).results == []
        for m in memories:
            await m.close()

    asyncio.run(scenario())


def test_G1_two_teams_saving_one_state_one_wins_the_other_gets_the_typed_conflict(client: Client, ns: str) -> None:
    key = f"{ns}/team-state"

    async def scenario() -> None:
        first = make_team("writer", ["draft 1"])
        await first.run(task="Write a draft")
        assert (await FencedStateSlot(client, key).save(first)).version == 1

        # Two teams resume from that saved state and each does more work.
        team_a, team_b = make_team("writer", ["draft 2 by A"]), make_team("writer", ["draft 2 by B"])
        slot_a, slot_b = FencedStateSlot(client, key), FencedStateSlot(client, key)
        assert await slot_a.load(team_a) and await slot_b.load(team_b)
        await asyncio.gather(team_a.run(task="Revise it (A)"), team_b.run(task="Revise it (B)"))

        assert (await slot_a.save(team_a)).version == 2
        with pytest.raises(VersionConflictError) as info:
            await slot_b.save(team_b)
        assert info.value.details == {"key": key, "expectedVersion": 1, "actualVersion": 2}

        # The stored state is A's: a fresh team loading it sees A's revision, not B's.
        restored = make_team("writer", ["unused"])
        await FencedStateSlot(client, key).load(restored)
        transcript = str(await restored.save_state())
        assert "draft 2 by A" in transcript and "draft 2 by B" not in transcript

        # The loser recovers the documented way: load the winner's state, redo its work, save on top.
        retry = make_team("writer", ["draft 3 by B"])
        assert await slot_b.load(retry)
        await retry.run(task="Revise it (B, again)")
        assert (await slot_b.save(retry)).version == 3

    asyncio.run(scenario())


def test_agent_state_is_fenced_the_same_way(client: Client, ns: str) -> None:
    key = f"{ns}/agent-state"

    async def scenario() -> None:
        agent_1 = AssistantAgent("solo", model_client=ReplayChatCompletionClient(["one"]))
        agent_2 = AssistantAgent("solo", model_client=ReplayChatCompletionClient(["two"]))
        slot_1, slot_2 = FencedStateSlot(client, key), FencedStateSlot(client, key)
        assert not await slot_1.load(agent_1) and not await slot_2.load(agent_2)  # nothing stored: both at version 0
        await slot_1.save(agent_1)
        with pytest.raises(VersionConflictError):
            await slot_2.save(agent_2)

    asyncio.run(scenario())


def test_the_memory_round_trips_through_its_component_config(client: Client, ns: str) -> None:
    memory = FencedMemory(client, f"{ns}/m", name="notes")
    model = memory.dump_component()
    assert model.config == {"url": client.url, "key": f"{ns}/m", "name": "notes"}
    restored = FencedMemory.load_component(model)
    asyncio.run(memory.add(text("x")))
    assert [c.content for c in asyncio.run(restored.query()).results] == ["x"]
    asyncio.run(restored.close())
