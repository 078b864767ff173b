"""Concurrent writers through the coordinator — threads and OS processes — lose nothing (G1, G3) and every loser
gets the typed ``VERSION_CONFLICT``."""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ThreadPoolExecutor

from fenced_state import Client, VersionConflictError, op
from fenced_state.coordinator import LocalCoordinator

THREADS = 8
PROCESSES = 4
INCREMENTS = 25


def _count_up(url: str, key: str, n: int) -> int:
    """``n`` read-modify-write increments; returns how many attempts lost a race and were retried."""
    retried = 0
    with Client(url) as c:
        for _ in range(n):
            retried += c.update(key, lambda v, _rec: (v or 0) + 1).attempts - 1
    return retried


def _race_once(url: str, key: str, version: int, who: str, barrier: multiprocessing.synchronize.Barrier) -> str:
    with Client(url) as c:
        barrier.wait()
        try:
            c.commit(key, op.set(who), expect_version=version)
            return "won"
        except VersionConflictError as err:
            assert err.details["expectedVersion"] == version and err.retryable
            return "VERSION_CONFLICT"


def test_G1_threads_doing_read_modify_write_lose_no_increment(coordinator: LocalCoordinator, ns: str) -> None:
    key = f"{ns}/counter"
    with ThreadPoolExecutor(THREADS) as pool:
        retried = sum(pool.map(lambda _: _count_up(coordinator.url, key, INCREMENTS), range(THREADS)))
    with Client(coordinator.url) as c:
        rec = c.read(key)
    assert rec.value == THREADS * INCREMENTS and rec.version == THREADS * INCREMENTS
    assert retried > 0, "the threads never raced: the test would not show a lost update"


def test_G1_of_threads_committing_from_one_version_exactly_one_wins(coordinator: LocalCoordinator, ns: str) -> None:
    key = f"{ns}/race"
    with Client(coordinator.url) as c:
        base = c.commit(key, op.set("base")).version
    barrier = threading.Barrier(THREADS)
    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = list(pool.map(lambda i: _race_once(coordinator.url, key, base, f"t{i}", barrier), range(THREADS)))
    assert outcomes.count("won") == 1 and outcomes.count("VERSION_CONFLICT") == THREADS - 1
    with Client(coordinator.url) as c:
        assert c.read(key).version == base + 1


def test_G1_processes_doing_read_modify_write_lose_no_increment(coordinator: LocalCoordinator, ns: str) -> None:
    key = f"{ns}/counter"
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(PROCESSES) as pool:
        retried = sum(pool.starmap(_count_up, [(coordinator.url, key, INCREMENTS)] * PROCESSES))
    with Client(coordinator.url) as c:
        rec = c.read(key)
    assert rec.value == PROCESSES * INCREMENTS and rec.version == PROCESSES * INCREMENTS
    assert retried > 0, "the processes never raced"


def test_G1_of_processes_committing_from_one_version_exactly_one_wins(coordinator: LocalCoordinator, ns: str) -> None:
    key = f"{ns}/race"
    with Client(coordinator.url) as c:
        base = c.commit(key, op.set("base")).version
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        barrier = manager.Barrier(PROCESSES)
        with ctx.Pool(PROCESSES) as pool:
            outcomes = pool.starmap(
                _race_once, [(coordinator.url, key, base, f"p{i}", barrier) for i in range(PROCESSES)]
            )
    assert sorted(outcomes) == ["VERSION_CONFLICT"] * (PROCESSES - 1) + ["won"]


def _append_many(url: str, key: str, who: str, n: int) -> None:
    with Client(url) as c:
        for i in range(n):
            c.commit(key, op.append(f"{who}-{i}"))


def test_commutative_appends_from_processes_all_land(coordinator: LocalCoordinator, ns: str) -> None:
    key = f"{ns}/log"
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(PROCESSES) as pool:
        pool.starmap(_append_many, [(coordinator.url, key, f"p{i}", INCREMENTS) for i in range(PROCESSES)])
    with Client(coordinator.url) as c:
        items = c.read(key).value
    assert sorted(items) == sorted(f"p{p}-{i}" for p in range(PROCESSES) for i in range(INCREMENTS))


def test_snapshot_reads_never_show_a_txn_in_part(coordinator: LocalCoordinator, ns: str) -> None:
    """A writer thread moves value between two keys in txns while reader threads take ``read_many`` and
    ``list_snapshot`` snapshots: each one sums to the total and has both keys at one version (docs/snapshots.md)."""
    a, b = f"{ns}/a", f"{ns}/b"
    with Client(coordinator.url) as c:
        c.txn([{"key": a, "op": op.set(100)}, {"key": b, "op": op.set(0)}])
    done = threading.Event()

    def write() -> None:
        with Client(coordinator.url) as c:
            for i in range(100):
                c.txn([{"key": a, "op": op.increment(-(i % 7 + 1))}, {"key": b, "op": op.increment(i % 7 + 1)}])
        done.set()

    def read(list_: bool) -> list[tuple[int, list[int], list[int]]]:
        seen = []
        with Client(coordinator.url) as c:
            while not done.is_set():
                snap = c.list_snapshot(f"{ns}/") if list_ else c.read_many([a, b])
                seen.append((snap.seq, [r.value for r in snap.records], [r.version for r in snap.records]))
        return seen

    with ThreadPoolExecutor(3) as pool:
        readers = [pool.submit(read, list_) for list_ in (False, True)]
        pool.submit(write).result()
        snapshots = [s for r in readers for s in r.result()]
    assert snapshots, "no snapshot was taken while the txns ran"
    for seq, values, versions in snapshots:
        assert sum(values) == 100 and versions[0] == versions[1], f"torn snapshot at seq {seq}: {values} {versions}"
