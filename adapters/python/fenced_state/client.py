"""The Python client of the fenced-state coordinator (``fenced serve``): the TypeScript ``StateStore`` API over HTTP.

Every call is one JSON POST on a keep-alive connection per thread. Commits and txns always carry an ``op_id``
(one is made when none is given), so after a network error or ``UNAVAILABLE`` the very same request is sent again
and the coordinator applies it at most once (G3).
"""

from __future__ import annotations

import http.client
import inspect
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote, urlsplit

from . import op as ops
from .backoff import with_backoff
from .errors import FencedStateError, InvalidInputError, UnavailableError, VersionConflictError, error_from_body
from .files import Files
from .queue import Queue
from .records import Claim, CommitResult, EffectResult, Event, Record, Snapshot, TxnResult, UpdateResult
from .values import check_json
from .watch import Watch

DEFAULT_URL = "http://127.0.0.1:7373"

#: Request fields a Python caller may spell in snake_case.
_WIRE_NAMES = {"expect_version": "expectVersion", "op_id": "opId"}


class Client:
    """A connection to one coordinator. Thread-safe; pass it to threads, or its URL to other processes.

    >>> client = Client("http://127.0.0.1:7373")
    >>> rec = client.read("team/notes")
    >>> client.commit("team/notes", op.set(["hello"]), expect_version=rec.version)
    >>> client.update("team/count", lambda n: (n or 0) + 1)
    """

    def __init__(
        self, url: str = DEFAULT_URL, *, token: str | None = None, timeout: float = 30.0, retries: int = 5
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidInputError(
                f"not an http(s) URL: {url!r}",
                {"issues": [{"path": ["url"], "message": "expected http(s)://host:port"}]},
            )
        self.url, self.token, self.timeout, self.retries = url.rstrip("/"), token, timeout, retries
        self._https = parts.scheme == "https"
        self._host, self._port = parts.hostname, parts.port
        self._headers = {"content-type": "application/json", "accept": "application/json"}
        if token is not None:
            self._headers["authorization"] = f"Bearer {token}"
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: list[http.client.HTTPConnection] = []

    # -- state ---------------------------------------------------------------------------------------------------

    def read(self, key: str) -> Record:
        """The key's current state; a key never written reads ``exists=False, version=0``."""
        return Record.from_wire(self.call("read", {"key": key}))

    def list(
        self, prefix: str = "", *, after: str | None = None, limit: int | None = None, include_deleted: bool = False
    ) -> list[Record]:
        """Existing records under ``prefix``, by key; page with ``after``."""
        return self.list_snapshot(prefix, after=after, limit=limit, include_deleted=include_deleted).records

    def list_snapshot(
        self, prefix: str = "", *, after: str | None = None, limit: int | None = None, include_deleted: bool = False
    ) -> Snapshot:
        """``list``, with ``seq``: the event-log position the page reflects. Each page is its own snapshot
        (docs/snapshots.md)."""
        body: dict[str, Any] = {"prefix": prefix, "includeDeleted": include_deleted}
        if after is not None:
            body["after"] = after
        if limit is not None:
            body["limit"] = limit
        return Snapshot.from_wire(self.call("list", body))

    def read_many(self, keys: Sequence[str]) -> Snapshot:
        """Up to 1,000 keys at one snapshot (docs/snapshots.md): records in the order asked (a key never written reads
        ``exists=False, version=0``), and ``seq``, the event-log position they reflect. A txn is in all of them or in
        none: no torn pair. Bad keys are ``InvalidInputError`` naming ``keys.<i>``, as in TypeScript."""
        return Snapshot.from_wire(
            self.call("read-many", {"keys": list(keys) if isinstance(keys, (list, tuple)) else keys})
        )

    def commit(
        self,
        key: str,
        op: Mapping[str, Any],
        *,
        expect_version: int | None = None,
        epoch: int | None = None,
        op_id: str | None = None,
        owner: str | None = None,
    ) -> CommitResult:
        """Commits one op: ``VersionConflictError`` if ``expect_version`` is stale (G1), ``FencedError`` if ``epoch``
        is not the live claim's (G2), the first result again (``replayed``) if ``op_id`` was seen (G3)."""
        request = _wire_request(
            {"key": key, "op": op, "expect_version": expect_version, "epoch": epoch, "owner": owner}
        )
        request["opId"] = op_id or _new_op_id()
        return CommitResult.from_wire(self.call("commit", request))

    def txn(self, requests: Sequence[Mapping[str, Any]], *, op_id: str | None = None) -> TxnResult:
        """Commits several keys all-or-nothing (G4). Each request is ``{"key", "op", "expect_version"?, "epoch"?,
        "owner"?}``; ``op_id`` covers the whole txn."""
        return TxnResult.from_wire(
            self.call("txn", {"requests": [_wire_request(r) for r in requests], "opId": op_id or _new_op_id()})
        )

    def update(
        self,
        key: str,
        fn: Callable[[Any], Any] | Callable[[Any, Record], Any],
        *,
        retries: int = 50,
        epoch: int | None = None,
        owner: str | None = None,
        base_delay: float = 0.002,
        max_delay: float = 0.25,
    ) -> UpdateResult:
        """Read, apply ``fn``, commit with ``expect_version``; on ``VERSION_CONFLICT`` re-read and retry with jittered
        backoff. Never retries ``FENCED``. ``fn`` must be pure: it may run several times.

        ``fn(value)`` gets the current value (``None`` for a missing key), as TypeScript's ``update(key, fn)`` does; a
        function that takes two positional arguments is called ``fn(value, record)`` and also sees the version and
        epoch. What it returns must be a JSON value (see :func:`fenced_state.values.check_json`)."""
        call = _value_fn(fn)
        attempts = 0

        def attempt(_: int) -> UpdateResult:
            nonlocal attempts
            attempts += 1
            record = self.read(key)
            value = call(record.value if record.exists else None, record)
            r = self.commit(key, ops.set(value), expect_version=record.version, epoch=epoch, owner=owner)
            return UpdateResult(r.key, r.version, r.epoch, r.seq, value, attempts)

        return with_backoff(
            attempt,
            lambda e: isinstance(e, VersionConflictError),
            retries=retries,
            base_delay=base_delay,
            max_delay=max_delay,
        )

    # -- claims --------------------------------------------------------------------------------------------------

    def claim(self, key: str, owner: str, ttl_ms: int = 10_000, *, steal: bool = False) -> Claim:
        """Claims ``key``; the returned ``epoch`` is the fencing token. ``ClaimHeldError`` unless ``steal``."""
        body: dict[str, Any] = {"key": key, "owner": owner, "ttlMs": ttl_ms}
        if steal:
            body["steal"] = True
        return Claim.from_wire(self.call("claim", body))

    def renew(self, claim: Claim, ttl_ms: int = 10_000) -> Claim:
        """Extends a live claim; ``FencedError`` if it was superseded, expired or released."""
        return Claim.from_wire(
            self.call("renew", {"key": claim.key, "owner": claim.owner, "epoch": claim.epoch, "ttlMs": ttl_ms})
        )

    def release(self, claim: Claim) -> bool:
        """Releases a claim; ``False`` when it was no longer current."""
        return bool(self.call("release", {"key": claim.key, "owner": claim.owner, "epoch": claim.epoch})["released"])

    @contextmanager
    def with_claim(
        self, key: str, owner: str, *, ttl_ms: int = 10_000, steal: bool = False, renew_every: float | None = None
    ) -> Iterator[HeldClaim]:
        """Claims ``key``, renews it in a background thread while the block runs, then releases it. If a renewal
        fails (someone reclaimed the key), ``held.lost`` is set and ``held.error`` says why; commits under the old
        epoch fail with ``FencedError`` regardless."""
        held = HeldClaim(self.claim(key, owner, ttl_ms, steal=steal))
        stop = threading.Event()
        period = renew_every if renew_every is not None else max(0.001, ttl_ms / 3000)

        def renew_loop() -> None:
            while not stop.wait(period):
                try:
                    held.claim = self.renew(held.claim, ttl_ms)
                except FencedStateError as err:
                    held.error = err
                    held.lost.set()
                    return

        renewer = threading.Thread(target=renew_loop, name=f"fenced-renew:{key}", daemon=True)
        renewer.start()
        try:
            yield held
        finally:
            stop.set()
            renewer.join()
            if not held.lost.is_set():
                self.release(held.claim)

    # -- fenced files ----------------------------------------------------------------------------------------------

    @property
    def files(self) -> Files:
        """The coordinator's fenced directory (``fenced serve --files-dir DIR``): read, write, publish, claim,
        adopt and discard plain files (see :mod:`fenced_state.files`)."""
        return Files(self)

    # -- events --------------------------------------------------------------------------------------------------

    def events(self, prefix: str = "", *, from_seq: int | None = None, limit: int | None = None) -> list[Event]:
        """One page of the event log under ``prefix``, oldest first, from ``from_seq`` (inclusive; default the oldest
        kept). Like TypeScript's ``store.events``."""
        body: dict[str, Any] = {"prefix": prefix}
        if from_seq is not None:
            body["fromSeq"] = from_seq
        if limit is not None:
            body["limit"] = limit
        return [Event.from_wire(e) for e in self.call("events", body)["events"]]

    def watch(self, prefix: str = "", *, from_seq: int | None = None) -> Watch:
        """Every commit outcome under ``prefix`` as it happens; ``from_seq=None`` starts after the newest event.
        Iterate it; ``close()`` it (from any thread) to stop. Reconnects resume after the last event seen."""
        return Watch(self, prefix, from_seq)

    # -- LangGraph threads ---------------------------------------------------------------------------------------

    def thread_status(self, thread_id: str, *, key_prefix: str = "langgraph") -> dict[str, Any]:
        """A LangGraph thread's status, as TypeScript's ``saver.threadStatus``: ``{"status": "idle"}``,
        ``{"status": "busy", "owner", "runId", "since", "expiresAt"}`` while a run holds it, or
        ``{"status": "interrupted", "interrupts": [{"id", "value"}]}`` while interrupts wait for an answer."""
        query = "" if key_prefix == "langgraph" else f"?keyPrefix={quote(key_prefix, safe='')}"
        return self.get_json(f"/v1/threads/{quote(thread_id, safe='')}/status{query}")

    # -- effects -------------------------------------------------------------------------------------------------

    def effect(
        self,
        op_id: str,
        guards: Sequence[Mapping[str, Any]],
        fn: Callable[[], Any],
        *,
        key: str | None = None,
        owner: str | None = None,
        refire: Sequence[str] = (),
    ) -> EffectResult:
        """Calls ``fn()`` (an email, a webhook, a payment) at most once per ``op_id``, and only if ``guards`` hold
        when the intent is recorded: ``{"key", "version"}`` (the key is still at the version you read) or
        ``{"key", "epoch"}`` (your claim is still live). Raises ``VersionConflictError`` / ``FencedError`` instead of
        calling ``fn`` when one does not. A retry with the same ``op_id`` returns the recorded outcome without calling
        ``fn``; an attempt that recorded its intent but no outcome (a crash) reads ``status="unknown"`` and is not
        fired again unless ``refire`` names it (``"unknown"``, ``"failed"``). If ``fn`` raises, ``failed`` is
        recorded and the exception propagates. See docs/effects.md."""
        body: dict[str, Any] = {"opId": op_id, "guards": [dict(g) for g in guards], "attemptId": _new_op_id()}
        for name, value in (("key", key), ("owner", owner)):
            if value is not None:
                body[name] = value
        if refire:
            body["refire"] = list(refire)
        intent = self.call("effects/intent", body)
        if not intent["proceed"]:
            previous = intent["previous"]
            return EffectResult(False, intent["status"], previous.get("result"), previous)
        outcome: dict[str, Any] = {"opId": op_id, "attempt": intent["attempt"]}
        if key is not None:
            outcome["key"] = key
        try:
            result = fn()
        except BaseException as err:
            self.call(
                "effects/outcome",
                {**outcome, "status": "failed", "error": {"message": (str(err) or type(err).__name__)[:4096]}},
            )
            raise
        try:
            check_json(result)
            done = {**outcome, "status": "done", **({} if result is None else {"result": result})}
        except InvalidInputError:
            done = {**outcome, "status": "done"}  # the effect happened; a result that is not JSON is not kept
        return EffectResult(True, "done", result, self.call("effects/outcome", done)["record"])

    # -- work queue ----------------------------------------------------------------------------------------------

    def queue(self, name: str) -> Queue:
        """The work queue ``name`` (docs/queue.md): enqueue, lease, heartbeat, complete, fail, stats."""
        return Queue(self, name)

    # -- transport -----------------------------------------------------------------------------------------------

    def call(self, route: str, body: Any) -> Any:
        """POSTs ``body`` to ``/v1/<route>`` and returns the JSON answer, or raises the typed error. ``UNAVAILABLE``
        and connection errors are retried with jittered backoff, resending the same bytes (the same op_id). A body that
        would not arrive as it is (see :func:`fenced_state.values.check_json`) is ``InvalidInputError``, unsent."""
        check_json(body)
        try:
            payload = json.dumps(body, allow_nan=False).encode()
        except (TypeError, ValueError) as err:
            raise InvalidInputError(f"not JSON: {err}", {"issues": [{"path": [], "message": str(err)}]}) from err
        return with_backoff(
            lambda _: self._post(f"/v1/{route}", payload),
            lambda e: isinstance(e, UnavailableError),
            retries=self.retries,
            base_delay=0.01,
            max_delay=1.0,
        )

    def get_json(self, path: str) -> Any:
        """GETs a JSON document such as ``/healthz`` or ``/openapi.json``."""
        return with_backoff(
            lambda _: self._send("GET", path, None),
            lambda e: isinstance(e, UnavailableError),
            retries=self.retries,
            base_delay=0.01,
            max_delay=1.0,
        )

    def _post(self, path: str, payload: bytes) -> Any:
        return self._send("POST", path, payload)

    def _send(self, method: str, path: str, payload: bytes | None) -> Any:
        conn = self._connection()
        try:
            conn.request(method, path, body=payload, headers=self._headers)
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as err:
            # Outcome unknown: the request may or may not have been applied. The caller retries with the same op_id.
            self._drop_connection()
            raise UnavailableError(f"connection to {self.url} failed: {err!r}", {"cause": repr(err)}) from err
        if response.will_close:
            self._drop_connection()
        try:
            body = json.loads(data) if data else None
        except ValueError:
            body = data[:200].decode(errors="replace")
        if response.status == 200:
            return body
        raise error_from_body(response.status, body)

    def new_connection(self, timeout: float | None = None) -> http.client.HTTPConnection:
        """A fresh connection to the coordinator (watch streams use their own)."""
        cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        return cls(self._host, self._port, timeout=timeout)

    def auth_headers(self) -> dict[str, str]:
        return {"authorization": self._headers["authorization"]} if "authorization" in self._headers else {}

    def _connection(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self.new_connection(self.timeout)
            with self._lock:
                self._open.append(conn)
        return conn

    def _drop_connection(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
            with self._lock:
                if conn in self._open:
                    self._open.remove(conn)

    def close(self) -> None:
        """Closes every connection this client opened."""
        with self._lock:
            for conn in self._open:
                conn.close()
            self._open.clear()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        # Connections stay with their process; a pickled client (multiprocessing) opens its own.
        return {"url": self.url, "token": self.token, "timeout": self.timeout, "retries": self.retries}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["url"], token=state["token"], timeout=state["timeout"], retries=state["retries"])  # type: ignore[misc]


class HeldClaim:
    """The claim held inside :meth:`Client.with_claim`; ``claim`` follows renewals, ``lost`` is set if one failed."""

    def __init__(self, claim: Claim) -> None:
        self.claim = claim
        self.lost = threading.Event()
        self.error: FencedStateError | None = None

    @property
    def epoch(self) -> int:
        return self.claim.epoch


def _value_fn(fn: Callable[..., Any]) -> Callable[[Any, Record], Any]:
    """``fn`` as a two-argument function: a callable that accepts two positional arguments gets ``(value, record)``,
    any other (``lambda v: ...``, a builtin without a signature) gets ``value`` alone."""
    try:
        inspect.signature(fn).bind(None, None)
    except TypeError:
        return lambda value, _record: fn(value)
    except ValueError:  # no signature to inspect (some builtins): call it like TypeScript does, with the value
        return lambda value, _record: fn(value)
    return fn


_op_id_lock = threading.Lock()
_op_id_last = [0, 0]  # the last opId's (milliseconds, counter)


def _new_op_id() -> str:
    """A fresh op_id, time-ordered as the TypeScript package's ``newOpId``: a UUIDv7 (RFC 9562) later than every one
    this process made before. The store keeps op_id records in a B-tree keyed by op_id, so an op_id that sorts last
    lands on the page the commits around it write anyway; a random one (uuid4) dirties a page of its own per commit
    (docs/design.md §3, "Idempotency records")."""
    with _op_id_lock:
        ms = time.time_ns() // 1_000_000
        last_ms, counter = _op_id_last
        if ms <= last_ms:
            # Same millisecond (or the clock went back): count on from the last one, into the next ms if it is full.
            ms, counter = last_ms, counter + 1
            if counter > 0xFFF:
                ms, counter = ms + 1, 0
        else:
            counter = secrets.randbits(10)
        _op_id_last[:] = [ms, counter]
    value = (ms & 0xFFFF_FFFF_FFFF) << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | secrets.randbits(62)
    return str(uuid.UUID(int=value))


def _wire_request(request: Mapping[str, Any]) -> dict[str, Any]:
    """A commit request in wire form: snake_case names become camelCase, ``None`` fields are left out."""
    return {_WIRE_NAMES.get(k, k): v for k, v in request.items() if v is not None}
