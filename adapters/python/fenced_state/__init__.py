"""fenced-state for Python: versioned, fenced shared state for multi-agent systems, through the coordinator
(``fenced serve``). Exactly one winner per write, a typed retryable conflict for the loser, zombie writers fenced by
an epoch, retries made safe by op_ids, nothing dropped silently.

>>> from fenced_state import Client, op
>>> client = Client()                          # http://127.0.0.1:7373
>>> client.update("team/count", lambda n: (n or 0) + 1)
"""

from . import op
from .client import DEFAULT_URL, Client, HeldClaim
from .errors import (
    ERROR_CLASSES,
    ERROR_TABLE,
    ClaimHeldError,
    ClosedError,
    FencedError,
    FencedStateError,
    ForbiddenError,
    IdempotencyMismatchError,
    IntegrityError,
    InvalidInputError,
    MethodNotAllowedError,
    NotFoundError,
    PayloadTooLargeError,
    UnauthorizedError,
    UnavailableError,
    UnsupportedMediaTypeError,
    VersionConflictError,
    error_from_body,
    find_fenced_error,
)
from .files import FileClaim, FileRecord, Files, FileStatus, FileWriteResult
from .queue import Lease, Queue
from .records import Claim, CommitResult, EffectResult, Event, Record, Snapshot, TxnResult, UpdateResult
from .watch import Watch

__all__ = [
    "Lease",
    "Queue",
    "op",
    "Client",
    "DEFAULT_URL",
    "HeldClaim",
    "Watch",
    "Claim",
    "CommitResult",
    "EffectResult",
    "Event",
    "Record",
    "Snapshot",
    "TxnResult",
    "UpdateResult",
    "ERROR_CLASSES",
    "ERROR_TABLE",
    "error_from_body",
    "find_fenced_error",
    "FencedStateError",
    "VersionConflictError",
    "FencedError",
    "ClaimHeldError",
    "IdempotencyMismatchError",
    "InvalidInputError",
    "NotFoundError",
    "PayloadTooLargeError",
    "MethodNotAllowedError",
    "UnsupportedMediaTypeError",
    "UnauthorizedError",
    "ForbiddenError",
    "UnavailableError",
    "ClosedError",
    "IntegrityError",
    "Files",
    "FileClaim",
    "FileRecord",
    "FileStatus",
    "FileWriteResult",
]
