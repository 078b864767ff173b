"""What the coordinator answers, as frozen dataclasses (the wire's camelCase fields in snake_case)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Record:
    """A key's state. A key never written has ``version == 0``; a deleted one keeps its version, ``exists=False``."""

    key: str
    exists: bool
    version: int
    epoch: int
    value: Any = None
    updated_at: int | None = None

    @classmethod
    def from_wire(cls, w: Mapping[str, Any]) -> Record:
        return cls(w["key"], w["exists"], w["version"], w["epoch"], w.get("value"), w.get("updatedAt"))


@dataclass(frozen=True)
class Snapshot:
    """Records read at one snapshot (docs/snapshots.md): ``seq`` is its event-log position. Every event with a seq up
    to it is reflected in ``records``, none after, so a txn is in all of them or in none."""

    seq: int
    records: list[Record]

    @classmethod
    def from_wire(cls, w: Mapping[str, Any]) -> Snapshot:
        return cls(w["seq"], [Record.from_wire(r) for r in w["records"]])


@dataclass(frozen=True)
class CommitResult:
    key: str
    exists: bool
    version: int
    epoch: int
    #: True when this is the stored result of an earlier commit with the same op_id; nothing was applied again.
    replayed: bool
    #: The event-log sequence number of the commit.
    seq: int

    @classmethod
    def from_wire(cls, w: Mapping[str, Any]) -> CommitResult:
        return cls(w["key"], w["exists"], w["version"], w["epoch"], w["replayed"], w["seq"])


@dataclass(frozen=True)
class TxnResult:
    results: list[CommitResult]
    replayed: bool

    @classmethod
    def from_wire(cls, w: Mapping[str, Any]) -> TxnResult:
        return cls([CommitResult.from_wire(r) for r in w["results"]], w["replayed"])


@dataclass(frozen=True)
class UpdateResult:
    """The committed result of :meth:`Client.update`: the value ``fn`` returned and how often it ran."""

    key: str
    version: int
    epoch: int
    seq: int
    value: Any
    attempts: int


@dataclass(frozen=True)
class Claim:
    """A lease on a key; ``epoch`` is the fencing token to present on every commit."""

    key: str
    owner: str
    epoch: int
    expires_at: int = 0

    @classmethod
    def from_wire(cls, w: Mapping[str, Any]) -> Claim:
        return cls(w["key"], w["owner"], w["epoch"], w["expiresAt"])


@dataclass(frozen=True)
class Event:
    """One line of the event log: committed, conflict, fenced, replayed, claimed or released."""

    seq: int
    ts: int
    key: str
    version: int
    epoch: int
    outcome: str
    owner: str | None = None
    op_id: str | None = None

    @classmethod
    def from_wire(cls, w: Mapping[str, Any]) -> Event:
        return cls(w["seq"], w["ts"], w["key"], w["version"], w["epoch"], w["outcome"], w.get("owner"), w.get("opId"))


@dataclass(frozen=True)
class EffectResult:
    """What :meth:`Client.effect` did: fired now (``fired=True``, ``status="done"``), or not, because an earlier
    attempt with the same op_id is ``done``, ``failed`` or ``unknown`` (intent recorded, no outcome: at most once)."""

    fired: bool
    #: ``done``, ``failed`` or ``unknown``.
    status: str
    #: What ``fn`` returned now, or the recorded result of the earlier attempt.
    result: Any
    #: The effect record as stored at ``effects/<op_id>`` (opId, status, attempt, guards, result or error, times).
    record: Mapping[str, Any]
