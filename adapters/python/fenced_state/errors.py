"""The error codes of fenced-state (docs/design.md §4), the same in TypeScript, HTTP and Python.

Branch on the class or on ``code``, never on messages. The coordinator sends
``{"error": {"code", "message", "retryable", "details"}}``; :func:`error_from_body` rebuilds the typed exception.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Per code: (retryable, HTTP status) — the table of ``src/core/errors.ts``; a test checks it against the server.
ERROR_TABLE: Mapping[str, tuple[bool, int]] = {
    "VERSION_CONFLICT": (True, 409),
    "FENCED": (False, 409),
    "CLAIM_HELD": (True, 409),
    "IDEMPOTENCY_MISMATCH": (False, 422),
    "INVALID_INPUT": (False, 400),
    "NOT_FOUND": (False, 404),
    "PAYLOAD_TOO_LARGE": (False, 413),
    "METHOD_NOT_ALLOWED": (False, 405),
    "UNSUPPORTED_MEDIA_TYPE": (False, 415),
    "UNAUTHORIZED": (False, 401),
    "FORBIDDEN": (False, 403),
    "UNAVAILABLE": (True, 503),
    "CLOSED": (False, 503),
    "INTEGRITY": (False, 500),
}


class FencedStateError(Exception):
    """Base of every error fenced-state raises on purpose."""

    code: str = "UNAVAILABLE"

    def __init__(self, message: str, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = dict(details or {})

    @property
    def retryable(self) -> bool:
        return ERROR_TABLE[self.code][0]

    @property
    def http_status(self) -> int:
        return ERROR_TABLE[self.code][1]

    def to_json(self) -> dict[str, Any]:
        """The wire body, ``{"error": {...}}`` — what a tool may hand to a model."""
        return {
            "error": {"code": self.code, "message": self.message, "retryable": self.retryable, "details": self.details}
        }


class VersionConflictError(FencedStateError):
    """Someone else committed first: re-read and retry (details: key, expectedVersion, actualVersion)."""

    code = "VERSION_CONFLICT"

    @property
    def outside_edit(self) -> bool:
        """Fenced files: the file on disk was edited behind the library's back (``details["path"]`` names it)."""
        return self.details.get("outsideEdit") is True


class FencedError(FencedStateError):
    """This writer's claim was superseded, expired or released (details: key, heldEpoch, currentEpoch, reason)."""

    code = "FENCED"


class ClaimHeldError(FencedStateError):
    """Another owner holds a live claim (details: key, owner, expiresAt)."""

    code = "CLAIM_HELD"


class IdempotencyMismatchError(FencedStateError):
    """The op_id was used before with a different payload (details: opId)."""

    code = "IDEMPOTENCY_MISMATCH"


class InvalidInputError(FencedStateError):
    """The request is malformed; nothing was written (details: issues)."""

    code = "INVALID_INPUT"


class NotFoundError(FencedStateError):
    code = "NOT_FOUND"


class PayloadTooLargeError(FencedStateError):
    """The value or request exceeds the limit; nothing was written (details: limit, size)."""

    code = "PAYLOAD_TOO_LARGE"


class MethodNotAllowedError(FencedStateError):
    """HTTP only: the route exists but not for this method (details: method, path, allow)."""

    code = "METHOD_NOT_ALLOWED"


class UnsupportedMediaTypeError(FencedStateError):
    """HTTP only: the body was not ``application/json`` in UTF-8 (details: contentType, accepted)."""

    code = "UNSUPPORTED_MEDIA_TYPE"


class UnauthorizedError(FencedStateError):
    code = "UNAUTHORIZED"


class ForbiddenError(FencedStateError):
    code = "FORBIDDEN"


class UnavailableError(FencedStateError):
    """The coordinator could not be reached or was busy; the outcome is unknown. Retry with the same op_id."""

    code = "UNAVAILABLE"


class ClosedError(FencedStateError):
    """The coordinator's store was closed: it answers nothing any more. Not retryable against it."""

    code = "CLOSED"


class IntegrityError(FencedStateError):
    """Stored data failed its integrity check on read (details: reason tampered | unknown-key | plaintext, type)."""

    code = "INTEGRITY"


ERROR_CLASSES: Mapping[str, type[FencedStateError]] = {
    cls.code: cls
    for cls in (
        VersionConflictError,
        FencedError,
        ClaimHeldError,
        IdempotencyMismatchError,
        InvalidInputError,
        NotFoundError,
        PayloadTooLargeError,
        MethodNotAllowedError,
        UnsupportedMediaTypeError,
        UnauthorizedError,
        ForbiddenError,
        UnavailableError,
        ClosedError,
        IntegrityError,
    )
}


def error_from_body(status: int, body: Any) -> FencedStateError:
    """The typed error for a wire error body; an unrecognised body (a proxy's 502 page) is ``UNAVAILABLE``."""
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    if not isinstance(code, str) or code not in ERROR_CLASSES:
        return UnavailableError(f"unrecognised HTTP {status} response", {"cause": f"HTTP {status}: {str(body)[:200]}"})
    return ERROR_CLASSES[code](str(error.get("message", code)), error.get("details") or {})


def find_fenced_error(exc: BaseException | None) -> FencedStateError | None:
    """The fenced-state error inside ``exc``'s cause/context chain — frameworks wrap what persistence raises
    (CrewAI re-raises it as ``RuntimeError("State persistence failed") from err``)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, FencedStateError):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None
