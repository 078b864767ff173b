"""AutoGen (``autogen-core`` / ``autogen-agentchat`` 0.7) over fenced-state.

- :class:`FencedMemory`: an ``autogen_core.memory.Memory`` whose items live under one key of the coordinator. ``add``
  is an append op: agents in any team or process add concurrently and no item is lost.
- :class:`FencedStateSlot`: fenced ``save_state``/``load_state`` for a team or an agent. A save names the version
  its load saw: of two teams that loaded one state, the first save wins and the other raises the typed
  ``VersionConflictError`` instead of overwriting it.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, Protocol, Self

from autogen_core import CancellationToken, Component
from autogen_core.memory import Memory, MemoryContent, MemoryQueryResult, UpdateContextResult
from autogen_core.model_context import ChatCompletionContext
from autogen_core.models import SystemMessage
from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from . import op
from .client import Client
from .records import CommitResult


class FencedMemoryConfig(BaseModel):
    """Declarative config; the token is read from ``FENCED_TOKEN`` so it never lands in a dumped config."""

    url: str
    key: str
    name: str | None = None


class FencedMemory(Memory, Component[FencedMemoryConfig]):
    """Agent memory shared through the coordinator; ``query`` matches a substring (an empty query returns all)."""

    component_type = "memory"
    component_provider_override = "fenced_state.autogen.FencedMemory"
    component_config_schema = FencedMemoryConfig

    def __init__(self, client: Client, key: str, name: str | None = None) -> None:
        self._client, self._key, self._name = client, key, name or key
        self._owns_client = False

    @property
    def name(self) -> str:
        return self._name

    async def add(self, content: MemoryContent, cancellation_token: CancellationToken | None = None) -> None:
        item = to_jsonable_python(content.model_dump())
        await asyncio.to_thread(self._client.commit, self._key, op.append(item))

    async def query(
        self, query: str | MemoryContent = "", cancellation_token: CancellationToken | None = None, **kwargs: Any
    ) -> MemoryQueryResult:
        items = await self._items()
        text = (str(query.content) if isinstance(query, MemoryContent) else query).lower()
        return MemoryQueryResult(results=[m for m in items if text in str(m.content).lower()])

    async def update_context(self, model_context: ChatCompletionContext) -> UpdateContextResult:
        items = await self._items()
        if items:
            lines = "\n".join(f"{i}. {m.content}" for i, m in enumerate(items, 1))
            await model_context.add_message(
                SystemMessage(content=f"\nRelevant memory content (in chronological order):\n{lines}\n")
            )
        return UpdateContextResult(memories=MemoryQueryResult(results=items))

    async def clear(self) -> None:
        await asyncio.to_thread(self._client.commit, self._key, op.delete())

    async def close(self) -> None:
        """The client belongs to the caller (or, built from config, to this memory)."""
        if self._owns_client:
            self._client.close()

    async def _items(self) -> list[MemoryContent]:
        record = await asyncio.to_thread(self._client.read, self._key)
        return [MemoryContent.model_validate(m) for m in (record.value or [])] if record.exists else []

    def _to_config(self) -> FencedMemoryConfig:
        return FencedMemoryConfig(url=self._client.url, key=self._key, name=self._name)

    @classmethod
    def _from_config(cls, config: FencedMemoryConfig) -> Self:
        memory = cls(Client(config.url, token=os.environ.get("FENCED_TOKEN")), config.key, config.name)
        memory._owns_client = True
        return memory


class _Stateful(Protocol):
    async def save_state(self) -> Any: ...

    async def load_state(self, state: Any) -> None: ...


class FencedStateSlot:
    """One team's or agent's saved state under ``key``. Use one slot per running team: it remembers the version
    it loaded (0 when nothing was stored) and saves only on top of it."""

    def __init__(self, client: Client, key: str) -> None:
        self.client, self.key = client, key
        #: The stored version this slot's team is based on.
        self.version = 0

    async def load(self, target: _Stateful) -> bool:
        """Loads the stored state into ``target``; ``False`` (and nothing loaded) when none is stored yet."""
        record = await asyncio.to_thread(self.client.read, self.key)
        self.version = record.version
        if record.exists:
            await target.load_state(record.value)
        return record.exists

    async def save(self, target: _Stateful) -> CommitResult:
        """Saves ``target``'s state if the stored one is still the version loaded; else ``VersionConflictError``
        and nothing is written. After a conflict, ``load`` the winner's state and redo the work."""
        state = to_jsonable_python(await target.save_state())  # datetimes and models as JSON, as load_state accepts
        result = await asyncio.to_thread(self.client.commit, self.key, op.set(state), expect_version=self.version)
        self.version = result.version
        return result
