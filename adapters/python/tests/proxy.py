"""A loopback TCP proxy that can lose responses: the request reaches the coordinator and is applied, but the
connection is cut before the answer gets back — a network failure whose outcome the client cannot know."""

from __future__ import annotations

import socket
import threading
from typing import BinaryIO
from urllib.parse import urlsplit


class DroppingProxy:
    def __init__(self, upstream_url: str, drop_first: int) -> None:
        parts = urlsplit(upstream_url)
        self.upstream = (parts.hostname, parts.port)
        #: How many responses are still to be lost.
        self.drops_left = drop_first
        self.requests_seen = 0
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}"
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream = socket.create_connection(self.upstream)
        from_client, from_upstream = client.makefile("rb"), upstream.makefile("rb")
        try:
            while True:
                request = _read_message(from_client)
                if not request:
                    return
                upstream.sendall(request)
                response = _read_message(from_upstream)  # the coordinator has answered: the request was processed
                with self._lock:
                    self.requests_seen += 1
                    drop = self.drops_left > 0
                    if drop:
                        self.drops_left -= 1
                if drop or not response:
                    return  # cut both connections without relaying the answer
                client.sendall(response)
        except OSError:
            return
        finally:
            client.close()
            upstream.close()

    def close(self) -> None:
        self._stopped.set()
        self._thread.join()
        self._server.close()


def _read_message(stream: BinaryIO) -> bytes:
    """One HTTP/1.1 message with a Content-Length body (all the client and the coordinator send here)."""
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        line = stream.readline()
        if not line:
            return b""
        head += line
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return head + stream.read(length)
