"""The work queue from Python (docs/queue.md): enqueue idempotent by op_id, FIFO leases, a zombie worker's completion
FENCED with none of its writes landing (G2), retries and dead letters, and several worker threads completing every task
exactly once — what a CrewAI or AutoGen worker pool does."""

from __future__ import annotations

import threading
import time

import pytest

from fenced_state import Client, FencedError, InvalidInputError, Lease, op


def test_enqueue_is_idempotent_and_leases_are_fifo(client: Client, ns: str) -> None:
    q = client.queue(f"{ns}-q")
    first = q.enqueue({"n": 1}, op_id="task-1")
    assert (first["seq"], first["created"]) == (1, True)
    assert q.enqueue({"n": 1}, op_id="task-1")["created"] is False
    q.enqueue({"n": 2}, op_id="task-2")
    a, b = q.lease("w1", visibility_ms=60_000), q.lease("w2", visibility_ms=60_000)
    assert a is not None and b is not None
    assert (a.payload, a.attempt, b.payload) == ({"n": 1}, 1, {"n": 2})
    assert q.lease("w3", visibility_ms=60_000) is None
    done = q.complete(a, {"ok": True}, writes=[{"key": f"{ns}/out/1", "op": op.set(1), "expect_version": 0}])
    assert [r.key for r in done.results][2] == f"{ns}/out/1"
    assert client.read(f"{ns}/out/1").value == 1
    assert q.stats() == {"enqueued": 2, "pending": 1, "done": 1, "dead": 0}


def test_a_zombie_workers_completion_is_fenced_and_none_of_its_writes_land(client: Client, ns: str) -> None:
    q = client.queue(f"{ns}-q")
    q.enqueue("x")
    zombie = q.lease("zombie", visibility_ms=200)
    assert zombie is not None
    time.sleep(0.3)  # the zombie stalls past its lease
    holder = q.lease("holder", visibility_ms=60_000)
    assert holder is not None and holder.seq == zombie.seq and holder.epoch > zombie.epoch
    with pytest.raises(FencedError) as err:
        q.complete(zombie, "late", writes=[{"key": f"{ns}/out", "op": op.set("zombie's")}])
    assert err.value.details["reason"] == "superseded"
    with pytest.raises(FencedError):
        q.heartbeat(zombie)
    assert not client.read(f"{ns}/out").exists
    q.complete(holder, "on time", writes=[{"key": f"{ns}/out", "op": op.set("holder's")}])
    assert client.read(f"{ns}/out").value == "holder's"
    assert q.stats()["done"] == 1


def test_fail_retries_then_dead_letters(client: Client, ns: str) -> None:
    q = client.queue(f"{ns}-q")
    q.enqueue("poison", max_attempts=2, retry={"baseMs": 1, "maxMs": 1})
    first = q.lease("w", visibility_ms=60_000)
    assert first is not None
    assert q.fail(first, "boom", retry_after_ms=0)["status"] == "retry"
    second = q.lease("w", visibility_ms=60_000)
    assert second is not None and second.attempt == 2
    assert q.fail(second, "boom again") == {"status": "dead"}
    assert q.stats() == {"enqueued": 1, "pending": 0, "done": 0, "dead": 1}


def test_bad_input_is_invalid_input_and_changes_nothing(client: Client, ns: str) -> None:
    q = client.queue(f"{ns}-q")
    with pytest.raises(InvalidInputError):
        q.enqueue("x", max_attempts=0)
    with pytest.raises(InvalidInputError):
        q.lease("", visibility_ms=10)
    assert q.stats()["enqueued"] == 0


def test_worker_threads_complete_every_task_exactly_once(client: Client, ns: str) -> None:
    q = client.queue(f"{ns}-q")
    for i in range(20):
        q.enqueue(i, op_id=f"t{i}")
    completed: list[int] = []

    def worker(name: str) -> None:
        while (lease := q.lease(name, visibility_ms=60_000)) is not None:
            q.complete(lease, name, writes=[{"key": f"{ns}/sum", "op": op.increment(lease.payload)}])
            completed.append(lease.payload)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(completed) == list(range(20))
    assert client.read(f"{ns}/sum").value == sum(range(20))
    assert q.stats() == {"enqueued": 20, "pending": 0, "done": 20, "dead": 0}


def test_lease_round_trips_from_the_wire() -> None:
    wire = {
        "queue": "q",
        "seq": 3,
        "key": "queues/q/ready/3",
        "owner": "w",
        "epoch": 9,
        "version": 2,
        "payload": [1],
        "attempt": 1,
        "maxAttempts": 5,
        "expiresAt": 10,
    }
    lease = Lease.from_wire(wire)
    assert lease.ref() == {"queue": "q", "seq": 3, "owner": "w", "epoch": 9, "version": 2}
