"""AutoGen teams over fenced-state: agents of two teams share one memory (every item lands), and two teams that
resumed one saved state both try to save it — the first save wins, the second gets a typed VERSION_CONFLICT instead
of silently replacing the first team's work, reloads and redoes its turn.

Offline, no API keys (ReplayChatCompletionClient):  .venv/bin/python examples/autogen-teams/main.py
Uses FENCED_URL if set, else starts a local coordinator from this checkout.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.conditions import MaxMessageTermination
from autogen_agentchat.teams import RoundRobinGroupChat
from autogen_core.memory import MemoryContent, MemoryMimeType
from autogen_ext.models.replay import ReplayChatCompletionClient

from fenced_state import Client, VersionConflictError
from fenced_state.autogen import FencedMemory, FencedStateSlot
from fenced_state.coordinator import LocalCoordinator

ROOT = Path(__file__).resolve().parents[2]


def team(reply: str, memory: FencedMemory | None = None) -> RoundRobinGroupChat:
    agent = AssistantAgent("editor", model_client=ReplayChatCompletionClient([reply]), memory=[memory] if memory else None)
    return RoundRobinGroupChat([agent], termination_condition=MaxMessageTermination(2))


async def main(url: str) -> None:
    client = Client(url)
    run = uuid.uuid4().hex[:8]  # fresh keys per run, so the example can share a long-lived coordinator

    memory = FencedMemory(client, f"examples/autogen/{run}/memory")
    await asyncio.gather(*(memory.add(MemoryContent(content=f"style rule {i}", mime_type=MemoryMimeType.TEXT)) for i in range(5)))
    print(f"Shared memory after 5 concurrent adds: {len((await memory.query()).results)} items")

    key = f"examples/autogen/{run}/team-state"
    first = team("draft v1", memory)
    await first.run(task="Write the intro")
    await FencedStateSlot(client, key).save(first)
    print("Saved the team after its first turn (version 1).")

    slot_a, slot_b = FencedStateSlot(client, key), FencedStateSlot(client, key)
    team_a, team_b = team("revision by team A"), team("revision by team B")
    await slot_a.load(team_a)
    await slot_b.load(team_b)
    await asyncio.gather(team_a.run(task="Tighten the intro"), team_b.run(task="Expand the intro"))
    print(f"Team A saves: version {(await slot_a.save(team_a)).version}")
    try:
        await slot_b.save(team_b)
    except VersionConflictError as conflict:
        print(f"Team B saves: {conflict.code} {conflict.details} -> reload A's state and redo")
        retry = team("revision by team B, on top of A")
        await slot_b.load(retry)
        await retry.run(task="Expand the intro")
        print(f"Team B saves: version {(await slot_b.save(retry)).version}")
    final = str(client.read(key).value)
    assert "revision by team A" in final and "on top of A" in final
    print("Stored state holds both teams' work.")


if __name__ == "__main__":
    if "FENCED_URL" in os.environ:
        asyncio.run(main(os.environ["FENCED_URL"]))
    else:
        with LocalCoordinator("--memory", command=["node", "--import", "tsx", "src/cli/main.ts", "serve"], cwd=ROOT) as coordinator:
            asyncio.run(main(coordinator.url))
