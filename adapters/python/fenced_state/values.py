"""What a request may carry: JSON that reaches the coordinator, and comes back, exactly as it was given.

``json.dumps`` alone would change some Python values without a word (G6): it turns ``{1: "a"}`` into
``{"1": "a"}`` (so ``{1: "x", "1": "y"}`` loses a value), writes ``NaN`` and ``Infinity`` that are not JSON, and
sends integers the coordinator (JavaScript doubles) would round: ``2**53 + 1`` reads back as ``2**53``. The
TypeScript API rejects such values; so does this client, with :class:`InvalidInputError` before anything is sent.
"""

from __future__ import annotations

import math
from typing import Any

from .errors import InvalidInputError

#: The largest integer every JSON reader of the system holds exactly (JavaScript's ``Number.MAX_SAFE_INTEGER``).
MAX_SAFE_INTEGER = 2**53 - 1


def check_json(value: Any) -> None:
    """Raises :class:`InvalidInputError` naming the first part of ``value`` that would not travel unchanged: a dict
    key that is not a ``str``, an integer beyond ±(2**53 − 1), a float that is not finite or is integral beyond that
    range, or a type JSON does not have. A ``str`` with a lone surrogate travels as a JSON escape and comes back as it
    was, as in TypeScript (keys, opIds and owners with one are refused by the coordinator, as by the core)."""
    try:
        problem = _find_problem(value, [])
    except RecursionError:
        problem = ([], "nested too deeply (or circular)")
    if problem is not None:
        path, message = problem
        where = ".".join(str(p) for p in path) or "(root)"
        raise InvalidInputError(f"invalid input: {where}: {message}", {"issues": [{"path": path, "message": message}]})


def _find_problem(value: Any, path: list[str | int]) -> tuple[list[str | int], str] | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            return path, f"the integer {value} is outside ±(2**53 − 1) and would be rounded; send it as a string"
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return path, f"{value} is not a JSON number"
        if value.is_integer() and abs(value) > MAX_SAFE_INTEGER:
            return (
                path,
                f"the float {value!r} is integral beyond ±(2**53 − 1), which the coordinator refuses; send it as a string",
            )
        return None
    if isinstance(value, str):
        return None
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            found = _find_problem(item, [*path, i])
            if found is not None:
                return found
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return [
                    *path,
                    str(key),
                ], f"a dict key must be a str, not {type(key).__name__} ({key!r}): JSON would turn it into a string"
            found = _find_problem(item, [*path, key])
            if found is not None:
                return found
        return None
    return path, f"{type(value).__name__} is not a JSON value"
