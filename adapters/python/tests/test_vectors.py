"""The shared vectors (``specs/vectors/*.json``) through the Python client against the coordinator — the same files
the TypeScript core and HTTP tests run. Well-formed steps go through the typed methods (``commit``, ``claim``, …);
steps that expect ``INVALID_INPUT`` go through ``Client.call`` so the malformed body reaches the wire unchanged."""

from __future__ import annotations

import dataclasses
import json
import uuid
from typing import Any

import pytest

from fenced_state import ERROR_CLASSES, Claim, Client, FencedStateError

from .conftest import ROOT

VECTOR_FILES = sorted((ROOT / "specs" / "vectors").glob("*.json"))
CASES = [(f.name, c) for f in VECTOR_FILES for c in json.loads(f.read_text())["cases"]]


def test_finds_the_vector_files() -> None:
    assert {f.name for f in VECTOR_FILES} >= {
        "commit.json",
        "fencing.json",
        "idempotency.json",
        "invalid-input.json",
        "txn.json",
    }


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def _to_wire(value: Any) -> Any:
    """A typed result back in wire form (camelCase), to compare with the vector."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {_camel(f.name): _to_wire(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list):
        return [_to_wire(v) for v in value]
    return value


def _typed_call(client: Client, call: str, r: dict[str, Any]) -> Any:
    if call == "read":
        rec = _to_wire(client.read(r["key"]))
        return rec if rec["exists"] else {k: v for k, v in rec.items() if k != "value"}
    if call == "read-many":
        return _to_wire(client.read_many(r["keys"]))
    if call == "list":
        records = client.list(
            r.get("prefix", ""),
            after=r.get("after"),
            limit=r.get("limit"),
            include_deleted=r.get("includeDeleted", False),
        )
        return {"records": _to_wire(records)}
    if call == "commit":
        return _to_wire(
            client.commit(
                r["key"],
                r["op"],
                expect_version=r.get("expectVersion"),
                epoch=r.get("epoch"),
                op_id=r.get("opId"),
                owner=r.get("owner"),
            )
        )
    if call == "txn":
        return _to_wire(client.txn(r["requests"], op_id=r.get("opId")))
    if call == "claim":
        return _to_wire(client.claim(r["key"], r["owner"], r["ttlMs"], steal=r.get("steal", False)))
    if call == "renew":
        return _to_wire(client.renew(Claim(r["key"], r["owner"], r["epoch"]), r["ttlMs"]))
    if call == "release":
        return {"released": client.release(Claim(r["key"], r["owner"], r["epoch"]))}
    if call == "events":
        return {"events": _to_wire(client.events(r.get("prefix", ""), from_seq=r.get("fromSeq"), limit=r.get("limit")))}
    raise AssertionError(f"unknown call {call}")


def _mismatches(actual: Any, expected: Any, path: str) -> list[str]:
    """Partial match: the rules of ``test/support/vectors.ts``."""
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{path}: expected {len(expected)} items, got {actual!r}"]
        return [m for i, e in enumerate(expected) for m in _mismatches(actual[i], e, f"{path}[{i}]")]
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {actual!r}"]
        out: list[str] = []
        for k, e in expected.items():
            if e == "$absent":
                if actual.get(k) is not None:
                    out.append(f"{path}.{k}: expected absent, got {actual[k]!r}")
            else:
                out += _mismatches(actual.get(k), e, f"{path}.{k}")
        return out
    same = (
        actual == expected
        and type(actual) is type(expected)
        or (isinstance(actual, (int, float)) and not isinstance(actual, bool) and actual == expected)
    )
    return [] if same else [f"{path}: expected {expected!r}, got {actual!r}"]


_UNBOUND_EPOCH = 2**40
_EPOCH_FIELDS = {"epoch", "heldEpoch", "currentEpoch"}


class _CaseEpochs:
    """Case-local epochs (specs/vectors/README.md), as ``CaseEpochs`` in ``test/support/vectors.ts``: a claim step's
    expected ``epoch: n`` binds n to the epoch the store granted; other epoch fields n stand for it."""

    def __init__(self) -> None:
        self.bound: dict[int, int] = {0: 0}

    def map(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.map(v) for v in value]
        if isinstance(value, dict):
            return {
                k: (
                    self.bound.get(v, _UNBOUND_EPOCH + v)
                    if k in _EPOCH_FIELDS and type(v) is int and 0 < v < _UNBOUND_EPOCH
                    else self.map(v)
                )
                for k, v in value.items()
            }
        return value

    def observe(self, step: dict[str, Any], result: Any) -> None:
        local = (step.get("result") or {}).get("epoch")
        granted = result.get("epoch") if isinstance(result, dict) else None
        if step["call"] == "claim" and type(local) is int and type(granted) is int and local not in self.bound:
            self.bound[local] = granted


@pytest.mark.parametrize(("file", "case"), CASES, ids=[f"{f}: {c['name']}" for f, c in CASES])
def test_vector(client: Client, file: str, case: dict[str, Any]) -> None:
    ns = f"py{uuid.uuid4().hex[:8]}"
    steps = json.loads(json.dumps(case["steps"]).replace("{ns}", ns))
    epochs = _CaseEpochs()  # one coordinator serves every case, and epochs are store-wide
    for i, local in enumerate(steps):
        request = epochs.map(local["request"])
        where = f"{file} step {i} ({local['call']} {request})"
        expect_error = local.get("error")
        try:
            if expect_error and expect_error["code"] == "INVALID_INPUT":
                result = client.call(local["call"], request)
            else:
                result = _typed_call(client, local["call"], request)
            epochs.observe(local, result)
        except FencedStateError as err:
            expect_error = epochs.map(expect_error)
            assert expect_error, f"{where}: unexpected {err.code}: {err}"
            assert type(err) is ERROR_CLASSES[expect_error["code"]], f"{where}: got {type(err).__name__}"
            assert not _mismatches(err.to_json()["error"], expect_error, "error"), (
                f"{where}: {_mismatches(err.to_json()['error'], expect_error, 'error')}"
            )
            continue
        assert not expect_error, f"{where}: expected {expect_error['code']}, got {result!r}"
        problems = _mismatches(result, epochs.map(local.get("result", {})), "result")
        assert not problems, f"{where}: {problems}"
