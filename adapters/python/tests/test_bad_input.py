"""Bad input on every route gets 400 (or 413) with a typed body — never a 5xx — and writes nothing."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import pytest

from fenced_state import Client, InvalidInputError, PayloadTooLargeError, error_from_body

from fenced_state.coordinator import LocalCoordinator

ROUTES = ["read", "list", "commit", "txn", "claim", "renew", "release"]
BODIES = [
    ("malformed JSON", b"{not json", "application/json"),
    ("an empty body", b"", "application/json"),
    ("a JSON array", b"[1]", "application/json"),
    ("JSON null", b"null", "application/json"),
    ("text/plain", b"hello", "text/plain"),
    ("wrong field types", json.dumps({"key": 1, "op": "set", "owner": [], "epoch": "x", "ttlMs": "y", "requests": {}, "prefix": 7}).encode(), "application/json"),
    # 16 MiB: far more than loopback socket buffers hold, so the client is still sending when the 413 is decided.
    ("a body over the 2 MiB limit", json.dumps({"key": "k", "op": {"type": "set", "value": "x" * (16 << 20)}}).encode(), "application/json"),
]


def _post(url: str, route: str, body: bytes, content_type: str) -> tuple[int, object]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request("POST", f"/v1/{route}", body=body, headers={"content-type": content_type})
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


@pytest.mark.parametrize("route", ROUTES)
def test_every_route_answers_bad_input_with_a_typed_4xx_and_writes_nothing(coordinator: LocalCoordinator, client: Client, route: str) -> None:
    before = client.get_json("/healthz")["lastSeq"]
    for name, body, content_type in BODIES:
        status, reply = _post(coordinator.url, route, body, content_type)
        err = error_from_body(status, reply)
        expected = PayloadTooLargeError if "limit" in name else InvalidInputError
        assert isinstance(err, expected) and status == err.http_status, f"{route} with {name}: {status} {reply}"
        assert not err.retryable
    assert client.get_json("/healthz")["lastSeq"] == before, "a rejected request must write nothing, not even an event"
