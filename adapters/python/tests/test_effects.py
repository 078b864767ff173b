"""The effect fence through the coordinator (``Client.effect``): fire only while the guards hold, at most once per
op_id, across threads and OS processes."""

from __future__ import annotations

import multiprocessing
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from fenced_state import Client, FencedError, InvalidInputError, VersionConflictError, op


class Calls:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self) -> dict[str, int]:
        self.n += 1
        return {"sent": self.n}


def test_fires_once_and_a_retry_returns_the_recorded_result(client: Client, ns: str) -> None:
    client.commit(f"{ns}/approval", op.set("approved"))
    read = client.read(f"{ns}/approval")
    calls = Calls()
    guards = [{"key": f"{ns}/approval", "version": read.version}]
    first = client.effect(f"{ns}-email", guards, calls)
    assert (first.fired, first.status, first.result) == (True, "done", {"sent": 1})
    assert first.record["status"] == "done"
    again = client.effect(f"{ns}-email", guards, calls)
    assert (again.fired, again.status, again.result) == (False, "done", {"sent": 1})
    assert calls.n == 1


def test_a_moved_input_raises_version_conflict_and_does_not_fire(client: Client, ns: str) -> None:
    client.commit(f"{ns}/approval", op.set("approved"))
    read = client.read(f"{ns}/approval")
    client.commit(f"{ns}/approval", op.set("revoked"))
    calls = Calls()
    with pytest.raises(VersionConflictError) as err:
        client.effect(f"{ns}-email", [{"key": f"{ns}/approval", "version": read.version}], calls)
    assert err.value.details["key"] == f"{ns}/approval" and calls.n == 0
    assert not client.read(f"effects/{ns}-email").exists


def test_a_zombie_whose_claim_was_stolen_is_fenced_and_does_not_fire(client: Client, ns: str) -> None:
    zombie = client.claim(f"{ns}/job", "zombie", 60_000)
    client.claim(f"{ns}/job", "thief", 60_000, steal=True)
    calls = Calls()
    with pytest.raises(FencedError) as err:
        client.effect(f"{ns}-pay", [{"key": f"{ns}/job", "epoch": zombie.epoch}], calls, owner="zombie")
    assert err.value.details["reason"] == "superseded" and calls.n == 0


def test_a_raising_effect_is_recorded_failed_and_not_refired_unless_asked(client: Client, ns: str) -> None:
    def boom() -> None:
        raise RuntimeError("smtp down")

    with pytest.raises(RuntimeError):
        client.effect(f"{ns}-mail", [], boom)
    again = client.effect(f"{ns}-mail", [], lambda: "never")
    assert (again.fired, again.status, again.record["error"]["message"]) == (False, "failed", "smtp down")
    assert client.effect(f"{ns}-mail", [], lambda: "ok", refire=["failed"]).fired


def test_bad_input_is_invalid_input_and_writes_nothing(client: Client, ns: str) -> None:
    with pytest.raises(InvalidInputError):
        client.effect("", [], lambda: 1)
    with pytest.raises(InvalidInputError):
        client.effect(f"{ns}-x", [{"key": f"{ns}/k"}], lambda: 1)
    assert client.list(f"effects/{ns}") == []


def test_threads_racing_one_op_id_fire_once(client: Client, ns: str) -> None:
    calls = Calls()
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: client.effect(f"{ns}-race", [], calls), range(8)))
    assert calls.n == 1
    assert sum(r.fired for r in results) == 1


def _race(url: str, op_id: str, log: str, barrier: multiprocessing.synchronize.Barrier) -> bool:
    def fire() -> int:
        with open(log, "a") as f:
            f.write(f"{os.getpid()}\n")
        return os.getpid()

    with Client(url) as c:
        barrier.wait()
        return c.effect(op_id, [], fire).fired


def test_two_processes_racing_one_op_id_fire_exactly_once(coordinator_url: str, ns: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(3):
            log = str(Path(tmp) / f"fired-{round_}.log")
            barrier = ctx.Manager().Barrier(2)
            with ctx.Pool(2) as pool:
                fired = pool.starmap(_race, [(coordinator_url, f"{ns}-proc-{round_}", log, barrier)] * 2)
            assert sorted(fired) == [False, True]
            assert len(Path(log).read_text().splitlines()) == 1
