/**
 * The one error table (src/core/errors.ts, docs/design.md §7): every code's retryable flag and HTTP status, each
 * error's message naming its details, and the wire body (`toJSON`) that `errorFromJSON` turns back into the same typed
 * error in HTTP clients. These are a contract: clients branch on `code` and `retryable`, the coordinator answers with
 * `httpStatus`.
 */
import { describe, expect, it } from "vitest";
import {
  ClaimHeldError,
  ClosedError,
  ERROR_TABLE,
  FencedError,
  FencedStateError,
  ForbiddenError,
  IdempotencyMismatchError,
  InvalidInputError,
  MethodNotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
  UnauthorizedError,
  UnavailableError,
  UnsupportedMediaTypeError,
  VersionConflictError,
  errorFromJSON,
  isErrorCode,
} from "../../src/index.js";

describe("the error table", () => {
  it("says which codes are retryable and which HTTP status each answers with", () => {
    expect(ERROR_TABLE).toEqual({
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
    });
  });
});

/** One instance of every error class, with the message it must carry. */
const EXAMPLES: [FencedStateError, string][] = [
  [
    new VersionConflictError({ key: "k", expectedVersion: 1, actualVersion: 2 }),
    'version conflict on "k": expected 1, found 2',
  ],
  [
    new FencedError({ key: "k", heldEpoch: 3, currentEpoch: 4, reason: "superseded" }),
    'fenced on "k" (superseded): held epoch 3, current epoch 4',
  ],
  [new ClaimHeldError({ key: "k", owner: "a", expiresAt: 9 }), '"k" is claimed by "a" until 9'],
  [new IdempotencyMismatchError({ opId: "op-1" }), 'opId "op-1" was already used with a different payload'],
  [
    new InvalidInputError({
      issues: [
        { path: ["op", "by"], message: "bad" },
        { path: [], message: "worse" },
      ],
    }),
    "invalid input: op.by: bad; (root): worse",
  ],
  [new NotFoundError({ key: "k" }), '"k" not found'],
  [new PayloadTooLargeError({ limit: 10, size: 11 }), "payload of 11 bytes exceeds the limit of 10"],
  [
    new MethodNotAllowedError({ method: "PUT", path: "/v1/x", allow: ["GET", "POST"] }),
    "PUT is not allowed on /v1/x; allowed: GET, POST",
  ],
  [
    new UnsupportedMediaTypeError({ contentType: "text/plain", accepted: ["application/json", "application/x"] }),
    'unsupported content type "text/plain"; send application/json or application/x in UTF-8',
  ],
  [
    new UnsupportedMediaTypeError({ contentType: null, accepted: ["application/json"] }),
    "unsupported content type (none); send application/json in UTF-8",
  ],
  [new UnauthorizedError(), "missing or invalid bearer token"],
  [new ForbiddenError(), "forbidden"],
  [new UnavailableError({ cause: "connection reset" }), "store unavailable: connection reset"],
  [new ClosedError(), "the store is closed: open a new one to go on"],
];

describe("error classes", () => {
  it("carry their code, the table's retryable flag and HTTP status, their class name and a message naming the details", () => {
    for (const [err, message] of EXAMPLES) {
      expect(err).toBeInstanceOf(FencedStateError);
      expect(err.message).toBe(message);
      expect(err.name).toBe(err.constructor.name);
      expect(err.retryable).toBe(ERROR_TABLE[err.code].retryable);
      expect(err.httpStatus).toBe(ERROR_TABLE[err.code].httpStatus);
      expect(isErrorCode(err, err.code)).toBe(true);
    }
    expect(isErrorCode(new Error("x"), "UNAVAILABLE")).toBe(false);
    expect(isErrorCode(new ClosedError(), "UNAVAILABLE")).toBe(false);
  });

  it("take a caller's message where one is given", () => {
    expect(new VersionConflictError({ key: "k", expectedVersion: 1, actualVersion: 2 }, "file moved").message).toBe(
      "file moved",
    );
    expect(new InvalidInputError({ issues: [] }, "no body").message).toBe("no body");
    expect(new UnauthorizedError("token expired").message).toBe("token expired");
    expect(new ForbiddenError("not your prefix").message).toBe("not your prefix");
    expect(new ClosedError("backend closed").message).toBe("backend closed");
  });

  it("a conflict after part of a run landed is not retryable (a retry would apply that part twice)", () => {
    expect(new VersionConflictError({ key: "k", expectedVersion: 1, actualVersion: 2, partial: true }).retryable).toBe(
      false,
    );
    expect(new VersionConflictError({ key: "k", expectedVersion: 1, actualVersion: 2, partial: false }).retryable).toBe(
      true,
    );
  });

  it("keep the cause they were given", () => {
    const cause = new Error("ECONNRESET");
    expect(new UnavailableError({ cause: "reset" }, { cause }).cause).toBe(cause);
  });
});

describe("the wire body", () => {
  it("toJSON is { error: { code, message, retryable, details } } and errorFromJSON rebuilds the same typed error", () => {
    for (const [err] of EXAMPLES) {
      const body = JSON.parse(JSON.stringify(err)) as unknown;
      expect(body).toEqual({
        error: { code: err.code, message: err.message, retryable: err.retryable, details: err.details },
      });
      const back = errorFromJSON(body);
      expect(back).toBeInstanceOf(err.constructor);
      expect(back).toMatchObject({
        code: err.code,
        message: err.message,
        retryable: err.retryable,
        details: err.details,
      });
    }
  });

  it("keeps the server's message over the one the class would write", () => {
    const back = errorFromJSON({
      error: { code: "FENCED", message: "fenced by the coordinator", details: { key: "k" } },
    });
    expect(back).toBeInstanceOf(FencedError);
    expect(back.message).toBe("fenced by the coordinator");
  });

  it("turns a body that is not a known error into UNAVAILABLE naming the body", () => {
    for (const body of [null, {}, { error: {} }, { error: { code: "NOPE" } }, "oops"]) {
      const err = errorFromJSON(body);
      expect(err).toBeInstanceOf(UnavailableError);
      expect(err.details).toEqual({ cause: `unrecognised error body: ${JSON.stringify(body)}` });
    }
    const long = { error: { code: "NOPE", message: "x".repeat(500) } };
    expect((errorFromJSON(long).details as { cause: string }).cause).toBe(
      `unrecognised error body: ${JSON.stringify(long).slice(0, 200)}`,
    );
    expect(errorFromJSON(undefined).details).toEqual({ cause: "unrecognised error body: undefined" });
    // A body without a message gets the class's own.
    expect(errorFromJSON({ error: { code: "CLOSED" } })).toMatchObject({
      code: "CLOSED",
      details: {},
      message: "the store is closed: open a new one to go on",
    });
  });
});
