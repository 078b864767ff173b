"""The work queue over HTTP (docs/queue.md): ``client.queue("name")``. A lease is a claim on the task's key; completing
is a txn fenced by the lease's epoch, so a worker whose lease expired or was taken over gets ``FencedError`` and its
result never lands. Shaped for CrewAI / AutoGen workers: lease, run the agent, complete with its output.

>>> q = client.queue("research")
>>> q.enqueue({"topic": "fencing"}, op_id="topic-fencing")
>>> lease = q.lease("worker-1", visibility_ms=60_000)
>>> if lease: q.complete(lease, {"summary": "..."}, writes=[{"key": "notes/fencing", "op": op.set("...")}])
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .records import TxnResult

if TYPE_CHECKING:
    from .client import Client


@dataclass(frozen=True)
class Lease:
    """A leased task. ``epoch`` is the fencing token; ``attempt`` counts from 1."""

    queue: str
    seq: int
    key: str
    owner: str
    epoch: int
    version: int
    payload: Any
    attempt: int
    max_attempts: int
    expires_at: int

    @staticmethod
    def from_wire(w: Mapping[str, Any]) -> Lease:
        return Lease(
            w["queue"],
            w["seq"],
            w["key"],
            w["owner"],
            w["epoch"],
            w["version"],
            w["payload"],
            w["attempt"],
            w["maxAttempts"],
            w["expiresAt"],
        )

    def ref(self) -> dict[str, Any]:
        return {"queue": self.queue, "seq": self.seq, "owner": self.owner, "epoch": self.epoch, "version": self.version}


class Queue:
    """One work queue of a coordinator. Cheap: it keeps no state; make one per call site if you like."""

    def __init__(self, client: Client, name: str) -> None:
        self.client, self.name = client, name

    def enqueue(
        self,
        payload: Any,
        *,
        op_id: str | None = None,
        max_attempts: int | None = None,
        retry: Mapping[str, int] | None = None,
    ) -> dict[str, Any]:
        """Appends a task; the same ``op_id`` enqueues once (``created`` is False on a retry). ``retry`` is
        ``{"baseMs", "maxMs"}``: attempt n that fails waits ``min(maxMs, baseMs * 2**(n-1))``."""
        body: dict[str, Any] = {"queue": self.name, "payload": payload, "opId": op_id or str(uuid.uuid4())}
        if max_attempts is not None:
            body["maxAttempts"] = max_attempts
        if retry is not None:
            body["retry"] = dict(retry)
        return dict(self.client.call("queue/enqueue", body))

    def lease(self, owner: str, *, visibility_ms: int = 30_000) -> Lease | None:
        """Leases the oldest visible task nobody holds, or returns None. One ``owner`` per concurrent consumer."""
        got = self.client.call("queue/lease", {"queue": self.name, "owner": owner, "visibilityMs": visibility_ms})[
            "lease"
        ]
        return None if got is None else Lease.from_wire(got)

    def heartbeat(self, lease: Lease, *, visibility_ms: int = 30_000) -> int:
        """Extends the lease; returns its new end. ``FencedError`` when it was lost: stop working on the task."""
        return int(
            self.client.call("queue/heartbeat", {"lease": lease.ref(), "visibilityMs": visibility_ms})["expiresAt"]
        )

    def complete(
        self,
        lease: Lease,
        result: Any = None,
        *,
        writes: Sequence[Mapping[str, Any]] = (),
        op_id: str | None = None,
    ) -> TxnResult:
        """Completes the task with ``result`` and ``writes`` (txn requests: ``{"key", "op", "expect_version"?, ...}``)
        in one transaction. ``FencedError`` if the lease was lost: nothing lands. Retrying the same call replays."""
        from .client import _wire_request

        body: dict[str, Any] = {"lease": lease.ref(), "writes": [_wire_request(w) for w in writes]}
        if result is not None:
            body["result"] = result
        if op_id is not None:
            body["opId"] = op_id
        return TxnResult.from_wire(self.client.call("queue/complete", body))

    def fail(self, lease: Lease, error: str = "", *, retry_after_ms: int | None = None) -> dict[str, Any]:
        """Gives the task back: ``{"status": "retry", "visibleAt"}`` after its backoff, or ``{"status": "dead"}``."""
        body: dict[str, Any] = {"lease": lease.ref(), "error": error}
        if retry_after_ms is not None:
            body["retryAfterMs"] = retry_after_ms
        return dict(self.client.call("queue/fail", body))

    def stats(self) -> dict[str, int]:
        """``{"enqueued", "pending", "done", "dead"}``."""
        return dict(self.client.call("queue/stats", {"queue": self.name}))
