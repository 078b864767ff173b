"""Op constructors, e.g. ``client.commit("team/count", op.increment(1))`` — the five ops of docs/design.md §3.

``increment``, ``append`` and ``merge`` apply to the current value, so without ``expect_version`` they never
conflict with each other; they are still fenced.
"""

from __future__ import annotations

from typing import Any


def set(value: Any) -> dict[str, Any]:  # noqa: A001 - mirrors op.set of the TypeScript API
    """Replace the value."""
    return {"type": "set", "value": value}


def delete() -> dict[str, Any]:
    """Delete the key; it keeps its version (a tombstone), so a stale writer still conflicts."""
    return {"type": "delete"}


def increment(by: float = 1) -> dict[str, Any]:
    """Add ``by`` to a number (a missing key counts as 0)."""
    return {"type": "increment", "by": by}


def append(*items: Any) -> dict[str, Any]:
    """Append items to an array (a missing key counts as ``[]``)."""
    return {"type": "append", "items": list(items)}


def merge(patch: dict[str, Any]) -> dict[str, Any]:
    """Apply a JSON Merge Patch (RFC 7386): ``None`` deletes a field."""
    return {"type": "merge", "patch": patch}
