"""Bad input on every route gets 400 (or 413, 415) with a typed body — never a 5xx — and writes nothing. A wrong
method gets 405 with ``Allow``."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import pytest

from fenced_state import (
    Client,
    FencedStateError,
    InvalidInputError,
    MethodNotAllowedError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
    error_from_body,
)
from fenced_state.coordinator import LocalCoordinator

ROUTES = ["read", "list", "commit", "txn", "claim", "renew", "release"]
BODIES: list[tuple[str, bytes, str | None, type[FencedStateError]]] = [
    ("malformed JSON", b"{not json", "application/json", InvalidInputError),
    ("an empty body", b"", "application/json", InvalidInputError),
    ("a JSON array", b"[1]", "application/json", InvalidInputError),
    ("JSON null", b"null", "application/json", InvalidInputError),
    ("text/plain", b"hello", "text/plain", UnsupportedMediaTypeError),
    ("JSON sent as text/plain", b'{"key": "k", "op": {"type": "delete"}}', "text/plain", UnsupportedMediaTypeError),
    ("no content type", b'{"key": "k", "op": {"type": "delete"}}', None, UnsupportedMediaTypeError),
    (
        "a Latin-1 charset",
        b'{"key": "k", "op": {"type": "set", "value": "caf\xe9"}}',
        "application/json; charset=iso-8859-1",
        UnsupportedMediaTypeError,
    ),
    (
        "bytes that are not UTF-8",
        b'{"key": "k", "op": {"type": "set", "value": "caf\xe9"}}',
        "application/json",
        InvalidInputError,
    ),
    (
        "an integer beyond 2**53",
        b'{"key": "k", "op": {"type": "set", "value": 9007199254740993}}',
        "application/json",
        InvalidInputError,
    ),
    (
        "wrong field types",
        json.dumps(
            {"key": 1, "op": "set", "owner": [], "epoch": "x", "ttlMs": "y", "requests": {}, "prefix": 7}
        ).encode(),
        "application/json",
        InvalidInputError,
    ),
    # 16 MiB: far more than loopback socket buffers hold, so the client is still sending when the 413 is decided.
    (
        "a body over the 2 MiB limit",
        json.dumps({"key": "k", "op": {"type": "set", "value": "x" * (16 << 20)}}).encode(),
        "application/json",
        PayloadTooLargeError,
    ),
]


def _request(
    url: str, method: str, path: str, body: bytes | None, content_type: str | None
) -> tuple[int, object, http.client.HTTPResponse]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers={} if content_type is None else {"content-type": content_type})
        response = conn.getresponse()
        return response.status, json.loads(response.read()), response
    finally:
        conn.close()


def _post(url: str, route: str, body: bytes, content_type: str | None) -> tuple[int, object]:
    status, reply, _ = _request(url, "POST", f"/v1/{route}", body, content_type)
    return status, reply


@pytest.mark.parametrize("route", ROUTES)
def test_every_route_answers_bad_input_with_a_typed_4xx_and_writes_nothing(
    coordinator: LocalCoordinator, client: Client, route: str
) -> None:
    before = client.get_json("/healthz")["lastSeq"]
    for name, body, content_type, expected in BODIES:
        status, reply = _post(coordinator.url, route, body, content_type)
        err = error_from_body(status, reply)
        assert type(err) is expected and status == err.http_status, f"{route} with {name}: {status} {reply}"
        assert not err.retryable
    assert client.get_json("/healthz")["lastSeq"] == before, "a rejected request must write nothing, not even an event"
    assert client.read("k").version == 0


@pytest.mark.parametrize("route", ROUTES)
def test_a_wrong_method_is_405_with_Allow(coordinator: LocalCoordinator, route: str) -> None:
    for method in ("GET", "PUT", "DELETE"):
        status, reply, response = _request(coordinator.url, method, f"/v1/{route}", None, None)
        err = error_from_body(status, reply)
        assert type(err) is MethodNotAllowedError and status == 405, f"{method} /v1/{route}: {status} {reply}"
        assert response.getheader("allow") == "POST" and err.details["allow"] == ["POST"]
