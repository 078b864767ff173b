"""G6 for Python values: what the client sends comes back exactly, or the client refuses it with
``InvalidInputError`` before sending anything. ``json.dumps`` would stringify dict keys (``{1: "a"}`` → ``{"1": "a"}``,
and ``{1: "x", "1": "y"}`` loses a value) and the coordinator would round integers beyond 2**53."""

from __future__ import annotations

import functools
import math
from typing import Any

import pytest

from fenced_state import Client, InvalidInputError, op

#: Values that would not come back as they were, each with the path the error must name.
UNFAITHFUL: list[tuple[str, Any, list[Any]]] = [
    ("an int dict key", {1: "a"}, ["1"]),
    ("an int key beside the same str key", {1: "x", "1": "y"}, ["1"]),
    ("a nested int key", {"a": [{"b": {2: True}}]}, ["a", 0, "b", "2"]),
    ("a None key", {None: 1}, ["None"]),
    ("a bool key", {True: 1}, ["True"]),
    ("a float key", {1.5: 1}, ["1.5"]),
    ("a tuple key", {(1, 2): 1}, ["(1, 2)"]),
    ("2**53", 2**53, []),
    ("2**53 + 1", 2**53 + 1, []),
    ("-(2**53)", -(2**53), []),
    ("2**64 in a list", [1, 2**64], [1]),
    ("NaN", math.nan, []),
    ("Infinity", math.inf, []),
    ("-Infinity in a dict", {"x": -math.inf}, ["x"]),
    ("an integral float beyond 2**53", 1e300, []),
    ("a set", {1, 2}, []),
    ("bytes", b"abc", []),
]


@pytest.mark.parametrize(("name", "value", "path"), UNFAITHFUL, ids=[u[0] for u in UNFAITHFUL])
def test_G6_a_value_that_would_change_is_InvalidInputError_before_anything_is_sent(
    name: str, value: Any, path: list[Any]
) -> None:
    # Nothing listens on port 9: had the client sent anything, it would be UnavailableError.
    with Client("http://127.0.0.1:9", retries=0) as unreachable:
        for call in (
            lambda: unreachable.commit("k", op.set(value)),
            lambda: unreachable.commit("k", op.merge({"v": value})),
            lambda: unreachable.commit("k", op.append(value)),
            lambda: unreachable.txn([{"key": "k", "op": op.set(value)}]),
            lambda: unreachable.call("commit", {"key": "k", "op": {"type": "set", "value": value}}),
        ):
            with pytest.raises(InvalidInputError) as info:
                call()
            assert not info.value.retryable and info.value.http_status == 400
    with Client("http://127.0.0.1:9", retries=0) as unreachable, pytest.raises(InvalidInputError) as info:
        unreachable.commit("k", op.set(value))
    assert info.value.details["issues"][0]["path"] == ["op", "value", *path]


def test_G6_the_coordinator_gets_nothing_and_stores_nothing(client: Client, ns: str) -> None:
    before = client.get_json("/healthz")["lastSeq"]
    for _, value, _ in UNFAITHFUL:
        with pytest.raises(InvalidInputError):
            client.commit(f"{ns}/k", op.set(value))
        with pytest.raises(InvalidInputError):
            client.update(f"{ns}/k", lambda _v, v=value: v)
    assert client.read(f"{ns}/k").version == 0
    assert client.get_json("/healthz")["lastSeq"] == before


def test_values_at_the_edges_come_back_exactly(client: Client, ns: str) -> None:
    value = {
        "max": 2**53 - 1,
        "min": -(2**53 - 1),
        "float": 0.1,
        "tiny": 5e-324,
        "big float": 1.5e300 / 3e290,  # 5e9: integral and safe
        "fraction": 12345.678,
        "text": "café — 日本語 — 🦊 — \U0010ffff",
        "lone surrogates": ["k\ud800", "\udfff", {"\ud83d": 1}],  # JSON escapes; TypeScript keeps them too
        "digits": "9007199254740993",
        "nested": [[{"a": None, "b": True, "c": False}]],
    }
    client.commit(f"{ns}/edges", op.set(value))
    assert client.read(f"{ns}/edges").value == value


def test_update_accepts_a_one_argument_function_like_TypeScript(client: Client, ns: str) -> None:
    key = f"{ns}/count"
    assert client.update(key, lambda n: (n or 0) + 1).value == 1
    assert client.update(key, lambda n, record: n + record.version).value == 2  # the two-argument form still works

    def bump(value: int) -> int:
        return value + 10

    class Doubler:
        def __call__(self, value: int) -> int:
            return value * 2

    assert client.update(key, bump).value == 12
    assert client.update(key, Doubler()).value == 24
    assert client.update(key, functools.partial(max, 100)).value == 100  # no inspectable arity: called with the value
    assert client.update(key, lambda *args: args[0] + len(args)).value == 102  # *args gets (value, record)
    assert client.read(key).value == 102
