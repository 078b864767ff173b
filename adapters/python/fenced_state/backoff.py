"""The one retry loop of the Python client: jittered exponential backoff ("full jitter"), as in ``src/core/retry.ts``."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def with_backoff(
    attempt: Callable[[int], T],
    should_retry: Callable[[BaseException], bool],
    *,
    retries: int = 10,
    base_delay: float = 0.002,
    max_delay: float = 0.25,
) -> T:
    """Calls ``attempt(n)`` until it returns, retrying while ``should_retry(err)`` and attempts remain, sleeping a
    random time in ``[0, min(max_delay, base_delay * 2**n))`` between tries. The last error is raised unchanged."""
    n = 0
    while True:
        try:
            return attempt(n)
        except Exception as err:  # noqa: BLE001 - filtered by should_retry, re-raised otherwise
            if n >= retries or not should_retry(err):
                raise
            time.sleep(random.uniform(0, min(max_delay, base_delay * 2**n)))
            n += 1
