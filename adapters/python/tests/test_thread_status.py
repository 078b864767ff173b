"""``Client.thread_status``: a LangGraph thread's status over HTTP (``GET /v1/threads/{threadId}/status``), from the
thread's run claim and head, as TypeScript's ``saver.threadStatus``."""

from __future__ import annotations

import pytest

from fenced_state import Client, InvalidInputError


def test_an_unknown_thread_is_idle(client: Client, ns: str) -> None:
    assert client.thread_status(f"{ns} thread/1", key_prefix=ns) == {"status": "idle"}


def test_a_thread_whose_head_a_run_holds_is_busy_with_the_claim(client: Client, ns: str) -> None:
    # The root head of thread "t" under the key prefix: what withThreadClaim claims.
    claim = client.claim(f"{ns}/t/head/~", "worker-1", ttl_ms=60_000)
    status = client.thread_status("t", key_prefix=ns)
    assert status == {
        "status": "busy",
        "owner": "worker-1",
        "runId": None,
        "since": None,
        "expiresAt": claim.expires_at,
    }
    client.release(claim)
    assert client.thread_status("t", key_prefix=ns) == {"status": "idle"}


def test_an_empty_key_prefix_is_invalid_input(client: Client) -> None:
    with pytest.raises(InvalidInputError):
        client.get_json("/v1/threads/t/status?keyPrefix=")
