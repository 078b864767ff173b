/**
 * The one error table of fenced-state (docs/design.md §4). TypeScript classes, HTTP statuses and the Python client all read
 * their codes from here; callers branch on `code` or `instanceof`, never on messages.
 */

/** Stable, wire-level error codes. */
export type ErrorCode =
  | "VERSION_CONFLICT"
  | "FENCED"
  | "CLAIM_HELD"
  | "IDEMPOTENCY_MISMATCH"
  | "INVALID_INPUT"
  | "NOT_FOUND"
  | "PAYLOAD_TOO_LARGE"
  | "METHOD_NOT_ALLOWED"
  | "UNSUPPORTED_MEDIA_TYPE"
  | "UNAUTHORIZED"
  | "FORBIDDEN"
  | "UNAVAILABLE"
  | "CLOSED"
  | "INTEGRITY";

/** Per code: whether a caller may retry, and the HTTP status the coordinator answers with. */
export const ERROR_TABLE: Readonly<Record<ErrorCode, { retryable: boolean; httpStatus: number }>> = {
  VERSION_CONFLICT: { retryable: true, httpStatus: 409 },
  FENCED: { retryable: false, httpStatus: 409 },
  CLAIM_HELD: { retryable: true, httpStatus: 409 },
  IDEMPOTENCY_MISMATCH: { retryable: false, httpStatus: 422 },
  INVALID_INPUT: { retryable: false, httpStatus: 400 },
  NOT_FOUND: { retryable: false, httpStatus: 404 },
  PAYLOAD_TOO_LARGE: { retryable: false, httpStatus: 413 },
  METHOD_NOT_ALLOWED: { retryable: false, httpStatus: 405 },
  UNSUPPORTED_MEDIA_TYPE: { retryable: false, httpStatus: 415 },
  UNAUTHORIZED: { retryable: false, httpStatus: 401 },
  FORBIDDEN: { retryable: false, httpStatus: 403 },
  UNAVAILABLE: { retryable: true, httpStatus: 503 },
  CLOSED: { retryable: false, httpStatus: 503 },
  INTEGRITY: { retryable: false, httpStatus: 500 },
};

/** A zod-style issue: where the input is wrong and why. */
export interface InputIssue {
  path: (string | number)[];
  message: string;
}

/** Details carried by each code (the "which precondition failed" of etcd's compare). */
export interface ErrorDetails {
  VERSION_CONFLICT: {
    key: string;
    expectedVersion: number | null;
    actualVersion: number;
    /**
     * LangGraph: the checkpoints the rejected run had already landed on its thread (oldest first). Empty when it
     * landed nothing; absent when the saver could not tell.
     */
    landed?: string[];
    /** True when part of the run landed: re-running its input would apply it twice, so `retryable` is false. */
    partial?: boolean;
    /** Why `invokeWithRetry` did not re-run the input (e.g. the interrupt it answered is no longer pending). */
    notRetried?: string;
    /**
     * Fenced files: the file on disk holds bytes that are no committed version (edited behind the library's back).
     * Nothing was written; `adopt(path)` commits the disk bytes, `discard(path)` restores the committed version.
     */
    outsideEdit?: true;
    /** Fenced files: the file's path in its directory. */
    path?: string;
    /** Fenced files: sha256 of the bytes on disk, and of the committed version (`null`: never committed). */
    diskSha256?: string;
    committedSha256?: string | null;
    /** Set by the LangGraph saver and reducers: who else wrote, what head/parent was seen. */
    [extra: string]: unknown;
  };
  FENCED: {
    key: string;
    /** The epoch the writer presented; `null` when it presented none while a claim was live. */
    heldEpoch: number | null;
    currentEpoch: number;
    reason: "superseded" | "expired" | "released" | "no-epoch" | "unknown-epoch";
  };
  CLAIM_HELD: { key: string; owner: string; expiresAt: number };
  IDEMPOTENCY_MISMATCH: { opId: string };
  INVALID_INPUT: { issues: InputIssue[] };
  NOT_FOUND: { key: string };
  PAYLOAD_TOO_LARGE: { limit: number; size: number };
  /** HTTP only: the route exists, but not for this method; `allow` is what the `Allow` header lists. */
  METHOD_NOT_ALLOWED: { method: string; path: string; allow: string[] };
  /** HTTP only: the body's declared media type (or charset) is not one the route reads. */
  UNSUPPORTED_MEDIA_TYPE: { contentType: string | null; accepted: string[] };
  UNAUTHORIZED: Record<string, never>;
  FORBIDDEN: Record<string, never>;
  UNAVAILABLE: { cause: string };
  CLOSED: Record<string, never>;
  /**
   * Stored data failed its integrity check on read: an encrypted value that does not authenticate (`tampered`), is
   * under a key id the reader does not hold (`unknown-key`), or a plaintext value where ciphertext is required
   * (`plaintext`). Nothing was returned for it.
   */
  INTEGRITY: { reason: "tampered" | "unknown-key" | "plaintext"; type: string; keyId?: string };
}

/** The base class of every error fenced-state raises on purpose. */
export class FencedStateError<C extends ErrorCode = ErrorCode> extends Error {
  readonly code: C;
  readonly retryable: boolean;
  readonly details: ErrorDetails[C];

  constructor(code: C, message: string, details: ErrorDetails[C], options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    // A conflict after part of a run landed is no clean retry: re-running the run's input would apply it twice.
    this.retryable = ERROR_TABLE[code].retryable && (details as { partial?: unknown }).partial !== true;
    this.details = details;
  }

  /** HTTP status for this code (docs/design.md §4). */
  get httpStatus(): number {
    return ERROR_TABLE[this.code].httpStatus;
  }

  /** The wire body: `{ error: { code, message, retryable, details } }`. */
  toJSON(): { error: { code: C; message: string; retryable: boolean; details: ErrorDetails[C] } } {
    return { error: { code: this.code, message: this.message, retryable: this.retryable, details: this.details } };
  }
}

/** Someone else committed first: re-read and retry. */
export class VersionConflictError extends FencedStateError<"VERSION_CONFLICT"> {
  constructor(details: ErrorDetails["VERSION_CONFLICT"], message?: string) {
    super(
      "VERSION_CONFLICT",
      message ??
        `version conflict on "${details.key}": expected ${details.expectedVersion}, found ${details.actualVersion}`,
      details,
    );
  }
}

/** This writer's claim was superseded, expired or released (or it presented no epoch while a claim is live). */
export class FencedError extends FencedStateError<"FENCED"> {
  constructor(details: ErrorDetails["FENCED"]) {
    super(
      "FENCED",
      `fenced on "${details.key}" (${details.reason}): held epoch ${details.heldEpoch}, current epoch ${details.currentEpoch}`,
      details,
    );
  }
}

/** Another owner holds a live claim on the key. */
export class ClaimHeldError extends FencedStateError<"CLAIM_HELD"> {
  constructor(details: ErrorDetails["CLAIM_HELD"]) {
    super("CLAIM_HELD", `"${details.key}" is claimed by "${details.owner}" until ${details.expiresAt}`, details);
  }
}

/** The opId was used before with a different payload. */
export class IdempotencyMismatchError extends FencedStateError<"IDEMPOTENCY_MISMATCH"> {
  constructor(details: ErrorDetails["IDEMPOTENCY_MISMATCH"]) {
    super("IDEMPOTENCY_MISMATCH", `opId "${details.opId}" was already used with a different payload`, details);
  }
}

/** The request is malformed; nothing was written. */
export class InvalidInputError extends FencedStateError<"INVALID_INPUT"> {
  constructor(details: ErrorDetails["INVALID_INPUT"], message?: string) {
    super(
      "INVALID_INPUT",
      message ??
        `invalid input: ${details.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ")}`,
      details,
    );
  }
}

/** The key (or claim, or checkpoint) does not exist. */
export class NotFoundError extends FencedStateError<"NOT_FOUND"> {
  constructor(details: ErrorDetails["NOT_FOUND"]) {
    super("NOT_FOUND", `"${details.key}" not found`, details);
  }
}

/** The value or request exceeds the configured limit; nothing was written. */
export class PayloadTooLargeError extends FencedStateError<"PAYLOAD_TOO_LARGE"> {
  constructor(details: ErrorDetails["PAYLOAD_TOO_LARGE"]) {
    super("PAYLOAD_TOO_LARGE", `payload of ${details.size} bytes exceeds the limit of ${details.limit}`, details);
  }
}

/** The HTTP route exists but does not answer this method (HTTP coordinator). */
export class MethodNotAllowedError extends FencedStateError<"METHOD_NOT_ALLOWED"> {
  constructor(details: ErrorDetails["METHOD_NOT_ALLOWED"]) {
    super(
      "METHOD_NOT_ALLOWED",
      `${details.method} is not allowed on ${details.path}; allowed: ${details.allow.join(", ")}`,
      details,
    );
  }
}

/** The request body is not `application/json` in UTF-8 (HTTP coordinator); nothing was read or written. */
export class UnsupportedMediaTypeError extends FencedStateError<"UNSUPPORTED_MEDIA_TYPE"> {
  constructor(details: ErrorDetails["UNSUPPORTED_MEDIA_TYPE"]) {
    super(
      "UNSUPPORTED_MEDIA_TYPE",
      `unsupported content type ${details.contentType === null ? "(none)" : JSON.stringify(details.contentType)}; send ${details.accepted.join(" or ")} in UTF-8`,
      details,
    );
  }
}

/** Missing or wrong credentials (HTTP coordinator). */
export class UnauthorizedError extends FencedStateError<"UNAUTHORIZED"> {
  constructor(message?: string | Record<string, never>) {
    super("UNAUTHORIZED", typeof message === "string" ? message : "missing or invalid bearer token", {});
  }
}

/** Valid credentials without the right to this operation or prefix. */
export class ForbiddenError extends FencedStateError<"FORBIDDEN"> {
  constructor(message?: string | Record<string, never>) {
    super("FORBIDDEN", typeof message === "string" ? message : "forbidden", {});
  }
}

/** The store could not be reached or was busy; the outcome is unknown. Retry with the same opId. */
export class UnavailableError extends FencedStateError<"UNAVAILABLE"> {
  constructor(details: ErrorDetails["UNAVAILABLE"], options?: { cause?: unknown }) {
    super("UNAVAILABLE", `store unavailable: ${details.cause}`, details, options);
  }
}

/**
 * The store (or the backend under it) was closed: this handle answers nothing any more. Not retryable on it; open a
 * new store. Calls issued before `close()` were completed first.
 */
export class ClosedError extends FencedStateError<"CLOSED"> {
  constructor(message?: string | Record<string, never>) {
    super("CLOSED", typeof message === "string" ? message : "the store is closed: open a new one to go on", {});
  }
}

/** Stored data failed its integrity check (docs/encryption.md): never returned, never silently accepted. */
export class IntegrityError extends FencedStateError<"INTEGRITY"> {
  constructor(details: ErrorDetails["INTEGRITY"], message?: string) {
    super(
      "INTEGRITY",
      message ?? `stored value of type "${details.type}" failed its integrity check (${details.reason})`,
      details,
    );
  }
}

/** Rebuilds the typed error from a wire body (`{ error: { code, message, details } }`), e.g. in HTTP clients. */
export function errorFromJSON(body: unknown): FencedStateError {
  const e = (body as { error?: { code?: string; message?: string; details?: unknown } } | null)?.error;
  const code = e?.code as ErrorCode | undefined;
  if (!code || !(code in ERROR_TABLE)) {
    return new UnavailableError({ cause: `unrecognised error body: ${JSON.stringify(body)?.slice(0, 200)}` });
  }
  const details = (e?.details ?? {}) as never;
  const ctor = ERROR_CLASSES[code];
  const err = new ctor(details);
  if (e?.message) err.message = e.message;
  return err;
}

const ERROR_CLASSES: Record<ErrorCode, new (details: never) => FencedStateError> = {
  VERSION_CONFLICT: VersionConflictError,
  FENCED: FencedError,
  CLAIM_HELD: ClaimHeldError,
  IDEMPOTENCY_MISMATCH: IdempotencyMismatchError,
  INVALID_INPUT: InvalidInputError,
  NOT_FOUND: NotFoundError,
  PAYLOAD_TOO_LARGE: PayloadTooLargeError,
  METHOD_NOT_ALLOWED: MethodNotAllowedError,
  UNSUPPORTED_MEDIA_TYPE: UnsupportedMediaTypeError,
  UNAUTHORIZED: UnauthorizedError,
  FORBIDDEN: ForbiddenError,
  UNAVAILABLE: UnavailableError,
  CLOSED: ClosedError,
  INTEGRITY: IntegrityError,
};

/** True when `err` is a fenced-state error with this code. */
export function isErrorCode<C extends ErrorCode>(err: unknown, code: C): err is FencedStateError<C> {
  return err instanceof FencedStateError && err.code === code;
}
