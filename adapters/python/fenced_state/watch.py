"""``Client.watch``: the coordinator's event log over server-sent events, as a closable iterator."""

from __future__ import annotations

import contextlib
import http.client
import json
import random
import socket
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from .errors import UnavailableError, error_from_body
from .records import Event

if TYPE_CHECKING:
    from .client import Client


class Watch(Iterator[Event]):
    """Yields events in seq order. A dropped stream is reopened after the last event seen (up to ``client.retries``
    times in a row); an ``error`` frame from the coordinator raises its typed error. ``close()`` ends it."""

    def __init__(self, client: Client, prefix: str, from_seq: int | None) -> None:
        self._client = client
        self._prefix = prefix
        # The HTTP default is "from the oldest retained event"; the TypeScript default is "from now". Mirror the latter.
        self._next_seq = from_seq if from_seq is not None else int(client.get_json("/healthz")["lastSeq"]) + 1
        self._sock: socket.socket | None = None
        self._closed = False
        self._events = self._run()

    def __next__(self) -> Event:
        return next(self._events)

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stops the watch; safe to call from another thread while one is blocked in ``next()``."""
        self._closed = True
        sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _run(self) -> Iterator[Event]:
        failures = 0
        while not self._closed:
            conn = self._client.new_connection()
            try:
                query = urlencode({"prefix": self._prefix, "fromSeq": self._next_seq})
                conn.request(
                    "GET", f"/v1/watch?{query}", headers={"accept": "text/event-stream", **self._client.auth_headers()}
                )
                # Kept apart: http.client hands a `Connection: close` socket to the response and forgets it.
                self._sock = conn.sock
                if self._closed:
                    return
                response = conn.getresponse()
                if response.status != 200:
                    raise error_from_body(response.status, json.loads(response.read() or b"null"))
                failures = 0
                for event, data in _frames(response):
                    if event == "error":
                        raise error_from_body(503, json.loads(data))
                    if event == "state":
                        e = Event.from_wire(json.loads(data))
                        self._next_seq = e.seq + 1
                        yield e
            except (OSError, http.client.HTTPException) as err:
                if self._closed:
                    return
                failures += 1
                if failures > self._client.retries:
                    raise UnavailableError(
                        f"watch stream to {self._client.url} lost: {err!r}", {"cause": repr(err)}
                    ) from err
                time.sleep(random.uniform(0, min(1.0, 0.01 * 2**failures)))
            finally:
                conn.close()


def _frames(response: http.client.HTTPResponse) -> Iterator[tuple[str, str]]:
    """``(event, data)`` for each SSE frame; comments (heartbeats) are skipped."""
    event, data = "message", []
    for raw in response:
        line = raw.decode("utf-8").rstrip("\r\n")
        if not line:
            if data:
                yield event, "\n".join(data)
            event, data = "message", []
        elif not line.startswith(":"):
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                event = value
            elif field == "data":
                data.append(value)
