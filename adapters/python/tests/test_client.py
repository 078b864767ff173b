"""The Python client mirrors the TypeScript API over the coordinator: reads, commits with preconditions, update with
retry, claims, watch, typed errors per code, and op_id reuse when the network loses an answer (G3)."""

from __future__ import annotations

import math
import threading
import time

import pytest

from fenced_state import (
    ERROR_CLASSES,
    ERROR_TABLE,
    Client,
    FencedError,
    FencedStateError,
    InvalidInputError,
    UnauthorizedError,
    UnavailableError,
    VersionConflictError,
    op,
)
from fenced_state.coordinator import LocalCoordinator

from .conftest import start_coordinator
from .proxy import DroppingProxy


def test_reads_commits_and_lists(client: Client, ns: str) -> None:
    assert client.read(f"{ns}/k").version == 0
    first = client.commit(f"{ns}/k", op.set({"notes": ["a"]}), expect_version=0)
    assert (first.version, first.replayed, first.exists) == (1, False, True)
    client.commit(f"{ns}/k", op.merge({"owner": "ann"}))
    client.commit(f"{ns}/log", op.append(1, 2))
    rec = client.read(f"{ns}/k")
    assert rec.value == {"notes": ["a"], "owner": "ann"} and rec.version == 2 and rec.updated_at is not None
    assert [r.key for r in client.list(f"{ns}/")] == [f"{ns}/k", f"{ns}/log"]


def test_read_many_and_list_snapshot_read_at_one_seq(client: Client, ns: str) -> None:
    client.txn([{"key": f"{ns}/a", "op": op.set(1)}, {"key": f"{ns}/b", "op": op.set(2)}])
    snap = client.read_many([f"{ns}/b", f"{ns}/none", f"{ns}/a"])
    assert [(r.key, r.exists, r.version, r.value) for r in snap.records] == [
        (f"{ns}/b", True, 1, 2),
        (f"{ns}/none", False, 0, None),
        (f"{ns}/a", True, 1, 1),
    ]
    page = client.list_snapshot(f"{ns}/", limit=1)
    assert page.seq == snap.seq and [r.key for r in page.records] == [f"{ns}/a"]
    assert client.read_many(()).records == []
    for bad, path in (("x/a", ["keys"]), ([f"{ns}/a", ""], ["keys", 1]), ([7], ["keys", 0])):
        with pytest.raises(InvalidInputError) as info:
            client.read_many(bad)  # type: ignore[arg-type]
        assert info.value.details["issues"][0]["path"] == path


def test_G1_a_stale_expect_version_raises_the_typed_conflict_with_details(client: Client, ns: str) -> None:
    client.commit(f"{ns}/k", op.set(1))
    with pytest.raises(VersionConflictError) as info:
        client.commit(f"{ns}/k", op.set(2), expect_version=0)
    err = info.value
    assert (err.code, err.retryable, err.http_status) == ("VERSION_CONFLICT", True, 409)
    assert err.details == {"key": f"{ns}/k", "expectedVersion": 0, "actualVersion": 1}
    assert client.read(f"{ns}/k").value == 1


def test_update_re_reads_and_retries_after_a_conflict(client: Client, ns: str) -> None:
    key = f"{ns}/count"
    client.commit(key, op.set(10))
    calls = []

    def bump(value: int, _record: object) -> int:
        calls.append(value)
        if len(calls) == 1:
            client.commit(key, op.increment(5))  # someone else writes between our read and our commit
        return value + 1

    result = client.update(key, bump)
    assert calls == [10, 15] and result.attempts == 2 and result.value == 16
    assert client.read(key).value == 16


def test_G2_update_never_retries_FENCED(client: Client, ns: str) -> None:
    key = f"{ns}/held"
    client.claim(key, "someone-else", 60_000)
    calls = []
    with pytest.raises(FencedError) as info:
        client.update(key, lambda v: calls.append(v) or 1)
    assert len(calls) == 1 and info.value.details["reason"] == "no-epoch" and not info.value.retryable


def test_G2_with_claim_renews_and_a_stolen_claim_is_lost_and_fenced(client: Client, ns: str) -> None:
    key = f"{ns}/job"
    with client.with_claim(key, "worker-1", ttl_ms=300) as held:
        time.sleep(0.8)  # longer than the ttl: only the background renewals keep the claim live
        assert not held.lost.is_set()
        client.commit(key, op.set("step 1"), epoch=held.epoch)
        thief = client.claim(key, "worker-2", 60_000, steal=True)
        assert held.lost.wait(2) and isinstance(held.error, FencedError)
        with pytest.raises(FencedError):
            client.commit(key, op.set("zombie"), epoch=held.epoch)
    assert client.read(key).value == "step 1"
    assert client.release(thief) is True


def test_watch_streams_outcomes_in_order_and_closes_from_another_thread(client: Client, ns: str) -> None:
    client.commit(f"{ns}/before", op.set(0))
    watch = client.watch(f"{ns}/")  # starts after the newest event: "before" is not seen
    client.commit(f"{ns}/a", op.set(1))
    with pytest.raises(VersionConflictError):
        client.commit(f"{ns}/a", op.set(2), expect_version=0)
    client.commit(f"{ns}/b", op.increment(1), op_id=f"{ns}-op")
    client.commit(f"{ns}/b", op.increment(1), op_id=f"{ns}-op")
    events = [next(watch) for _ in range(4)]
    assert [(e.key, e.outcome) for e in events] == [
        (f"{ns}/a", "committed"),
        (f"{ns}/a", "conflict"),
        (f"{ns}/b", "committed"),
        (f"{ns}/b", "replayed"),
    ]
    assert events[3].op_id == f"{ns}-op" and [e.seq for e in events] == sorted(e.seq for e in events)

    got: list[object] = []
    reader = threading.Thread(target=lambda: got.extend(watch))  # blocks: nothing more is written under ns
    reader.start()
    time.sleep(0.3)
    watch.close()
    reader.join(5)
    assert not reader.is_alive() and got == []
    replay = client.watch(f"{ns}/", from_seq=events[0].seq)
    assert next(replay).seq == events[0].seq
    replay.close()


def test_G3_a_commit_whose_answer_is_lost_is_resent_with_the_same_op_id_and_applied_once(
    coordinator: LocalCoordinator, ns: str
) -> None:
    proxy = DroppingProxy(coordinator.url, drop_first=2)
    try:
        with Client(proxy.url) as flaky, Client(coordinator.url) as direct:
            result = flaky.commit(f"{ns}/n", op.increment(1))
            assert proxy.requests_seen == 3  # applied on the first try; both lost answers were retried
            assert result.replayed is True and result.version == 1
            assert direct.read(f"{ns}/n").value == 1

            proxy.drops_left = 1
            txn = flaky.txn(
                [
                    {"key": f"{ns}/a", "op": op.increment(1)},
                    {"key": f"{ns}/b", "op": op.increment(1), "expect_version": 0},
                ]
            )
            assert txn.replayed is True
            assert [direct.read(f"{ns}/{k}").value for k in "ab"] == [1, 1]
    finally:
        proxy.close()


def test_an_unreachable_coordinator_is_UNAVAILABLE_after_the_retries() -> None:
    with Client("http://127.0.0.1:9", retries=2) as dead, pytest.raises(UnavailableError) as info:
        dead.read("k")
    assert info.value.retryable and "cause" in info.value.details


def test_non_JSON_values_are_INVALID_INPUT_before_anything_is_sent(client: Client, ns: str) -> None:
    for bad in (math.nan, math.inf, object(), {1, 2}):
        with pytest.raises(InvalidInputError):
            client.commit(f"{ns}/k", op.set(bad))
    assert client.read(f"{ns}/k").version == 0


def test_the_error_table_matches_the_coordinators(client: Client) -> None:
    doc = client.get_json("/openapi.json")
    codes = doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"]
    assert sorted(codes) == sorted(ERROR_TABLE) == sorted(ERROR_CLASSES)
    responses = doc["paths"]["/v1/commit"]["post"]["responses"]
    for code, (_, status) in ERROR_TABLE.items():
        assert code in responses[str(status)]["description"].split(", "), code
        assert ERROR_CLASSES[code].code == code and issubclass(ERROR_CLASSES[code], FencedStateError)


def test_a_token_protected_coordinator_rejects_a_client_without_it() -> None:
    token = "py-token-5b1f0c9e7d3a2b46"
    server = start_coordinator(["--memory"], env={"FENCED_TOKEN": token})
    try:
        with Client(server.url) as anonymous, pytest.raises(UnauthorizedError):
            anonymous.read("k")
        with Client(server.url, token=token) as authorised:
            assert authorised.commit("k", op.set(1)).version == 1
    finally:
        assert server.stop() == 0


def test_op_ids_the_client_makes_are_time_ordered_uuid7s_and_reach_the_store_as_sent(client: Client, ns: str) -> None:
    """The client's own op_ids sort in the order they were made (as the TypeScript ``newOpId``), also across threads
    and within one millisecond, so each op_id's record lands on the last page of the store's op_id index
    (docs/design.md §3, "Idempotency records"). A uuid4 here fails the ordering."""
    import uuid

    from fenced_state.client import _new_op_id

    made: list[str] = []
    lock = threading.Lock()

    def make() -> None:
        ids = [_new_op_id() for _ in range(5_000)]
        with lock:
            made.extend(ids)

    threads = [threading.Thread(target=make) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(made)) == len(made) == 20_000
    for value in made:
        parsed = uuid.UUID(value)
        assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
    ms = uuid.UUID(made[0]).int >> 80
    assert abs(ms - time.time_ns() // 1_000_000) < 60_000
    # One thread's ids increase; so do ids made one after another by different threads.
    first, second = _new_op_id(), _new_op_id()
    assert first < second

    # Commits without an op_id send increasing ones; the event log keeps them as sent.
    for i in range(5):
        client.commit(f"{ns}/ordered", op.set(i))
    ids = [e.op_id for e in client.events(f"{ns}/ordered") if e.outcome == "committed"]
    assert len(ids) == 5 and ids == sorted(ids) and all(uuid.UUID(i).version == 7 for i in ids)
