"""Run a coordinator (``fenced serve``) as a child process on a free loopback port — for tests, notebooks and the
examples. In production, run ``npx fenced serve`` as its own service and point :class:`~fenced_state.Client` at it."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import threading
from collections.abc import Sequence
from pathlib import Path

#: ``npx fenced serve`` unless ``FENCED_SERVE_COMMAND`` says otherwise (e.g. ``node --import tsx src/cli/main.ts serve``).
DEFAULT_COMMAND: Sequence[str] = ("npx", "--no-install", "fenced", "serve")


class LocalCoordinator:
    """Starts ``<command> --port 0 <args>`` and waits for its "listening on <url>" line; ``stop()`` sends SIGTERM
    (the coordinator finishes in-flight commits) and returns the exit code.

    >>> with LocalCoordinator("--memory") as coordinator:
    ...     client = Client(coordinator.url)
    """

    def __init__(
        self,
        *args: str,
        command: Sequence[str] | None = None,
        cwd: str | Path | None = None,
        env: dict[str, str] | None = None,
        startup_timeout: float = 60.0,
    ) -> None:
        if command is None:
            command = (
                shlex.split(os.environ["FENCED_SERVE_COMMAND"])
                if "FENCED_SERVE_COMMAND" in os.environ
                else DEFAULT_COMMAND
            )
        self.process = subprocess.Popen(
            [*command, "--port", "0", *args],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        found: list[str] = []
        ready = threading.Event()

        def read_stdout() -> None:
            assert self.process.stdout is not None
            for line in self.process.stdout:
                match = re.search(r"listening on (http://\S+)", line)
                if match and not found:
                    found.append(match.group(1))
                    ready.set()
            ready.set()  # the process ended

        threading.Thread(target=read_stdout, daemon=True).start()
        if not ready.wait(startup_timeout) or not found:
            self.stop()
            stderr = self.process.stderr.read() if self.process.stderr else ""
            raise RuntimeError(f"fenced serve did not start: {stderr.strip()}")
        self.url = found[0]

    def stop(self, timeout: float = 20.0) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def __enter__(self) -> LocalCoordinator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
