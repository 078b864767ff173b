"""CrewAI over fenced-state.

- :class:`FencedFlowPersistence`: a ``FlowPersistence`` whose saves are commits with ``expect_version``: two flows
  that loaded one state id never overwrite each other — the first save wins, the other raises the typed
  ``VersionConflictError`` (CrewAI wraps it: ``RuntimeError(...) from err``; see ``find_fenced_error``).
- :func:`shared_state_tools`: CrewAI tools to read, commit and update shared state. Errors come back to the model
  as the wire body (``{"error": {"code": "VERSION_CONFLICT", ...}}``) so it can re-read and retry; nothing is dropped.
"""

from __future__ import annotations

import json
from contextvars import ContextVar
from typing import Any, Literal

from crewai.flow.persistence.base import FlowPersistence
from crewai.tools import BaseTool
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from . import op as ops
from .client import Client
from .errors import FencedStateError

# The versions one kickoff has seen, per state id. CrewAI calls load_state in the kickoff's task and save_state in
# threads that copy its context, so concurrent kickoffs sharing one persistence (class-level @persist) stay apart.
_kickoff_versions: ContextVar[dict[str, int] | None] = ContextVar("fenced_crewai_versions", default=None)


class FencedFlowPersistence(FlowPersistence):
    """Flow state stored under ``{prefix}/{flow_uuid}``; every save is fenced by the version its flow loaded."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    persistence_type: str = "fenced-state"
    client: Client = Field(exclude=True)
    prefix: str = "crewai/flows"
    _versions: dict[str, int] = PrivateAttr(default_factory=dict)

    def init_db(self) -> None:
        """Nothing to set up: the coordinator owns the storage."""

    def load_state(self, flow_uuid: str) -> dict[str, Any] | None:
        record = self.client.read(self._key(flow_uuid))
        versions = {flow_uuid: record.version}
        _kickoff_versions.set(versions)
        return record.value["state"] if record.exists else None

    def save_state(self, flow_uuid: str, method_name: str, state_data: dict[str, Any] | BaseModel) -> None:
        state = state_data.model_dump(mode="json") if isinstance(state_data, BaseModel) else dict(state_data)
        versions = _kickoff_versions.get()
        if versions is None:  # a fresh flow that loaded nothing: its state id must be new (version 0)
            versions = self._versions
        result = self.client.commit(
            self._key(flow_uuid),
            ops.set({"state": state, "method": method_name}),
            expect_version=versions.get(flow_uuid, 0),
            owner=f"crewai-flow:{flow_uuid}",
        )
        versions[flow_uuid] = result.version

    def _key(self, flow_uuid: str) -> str:
        return f"{self.prefix}/{flow_uuid}"


class _KeyArgs(BaseModel):
    key: str = Field(description="Shared-state key, e.g. 'notes' or 'research/findings'")


class _CommitArgs(_KeyArgs):
    value: Any = Field(description="The new JSON value")
    expect_version: int = Field(description="The version you read; 0 if the key did not exist")


class _UpdateArgs(_KeyArgs):
    op: Literal["increment", "append", "merge"] = Field(
        description="increment a number, append to a list, or merge into an object"
    )
    argument: Any = Field(description="the amount, the item to append, or the object to merge")


class _SharedStateTool(BaseTool):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    client: Client = Field(exclude=True)
    #: Keys the model names are relative to this prefix, so agents cannot reach outside it.
    scope: str = ""

    def _key(self, key: str) -> str:
        return f"{self.scope}/{key}" if self.scope else key

    def _answer(self, call: Any) -> str:
        try:
            return json.dumps(call())
        except FencedStateError as err:
            return json.dumps(err.to_json())  # the model sees the typed code and may re-read and retry


class ReadSharedStateTool(_SharedStateTool):
    name: str = "read_shared_state"
    description: str = "Read a shared-state key. Returns its value and version (0 if it does not exist)."
    args_schema: type[BaseModel] = _KeyArgs

    def _run(self, key: str) -> str:
        return self._answer(lambda: _record(self.client.read(self._key(key))))


class CommitSharedStateTool(_SharedStateTool):
    name: str = "commit_shared_state"
    description: str = (
        "Replace a shared-state value, only if it is still at the version you read. On VERSION_CONFLICT someone "
        "else wrote first: read again and retry."
    )
    args_schema: type[BaseModel] = _CommitArgs

    def _run(self, key: str, value: Any, expect_version: int) -> str:
        return self._answer(
            lambda: {
                "version": self.client.commit(self._key(key), ops.set(value), expect_version=expect_version).version
            }
        )


class UpdateSharedStateTool(_SharedStateTool):
    name: str = "update_shared_state"
    description: str = "Increment, append to or merge into a shared-state value; never conflicts with other updates."
    args_schema: type[BaseModel] = _UpdateArgs

    def _run(self, key: str, op: str, argument: Any) -> str:  # noqa: A002 - the model-facing argument name
        change = {
            "increment": lambda: ops.increment(argument),
            "append": lambda: ops.append(argument),
            "merge": lambda: ops.merge(argument),
        }[op]()
        return self._answer(lambda: {"version": self.client.commit(self._key(key), change).version})


def _record(r: Any) -> dict[str, Any]:
    return {"key": r.key, "exists": r.exists, "value": r.value, "version": r.version}


def shared_state_tools(client: Client, scope: str = "") -> list[BaseTool]:
    """The three shared-state tools for a CrewAI agent, limited to keys under ``scope``."""
    return [
        cls(client=client, scope=scope) for cls in (ReadSharedStateTool, CommitSharedStateTool, UpdateSharedStateTool)
    ]
