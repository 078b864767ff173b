/**
 * PostgreSQL and network failures → `UNAVAILABLE` (outcome unknown: retry with the same opId), except the server
 * refusing the data itself (`INVALID_INPUT`: retrying cannot help). Typed errors raised by the core inside a
 * transaction never come here; they pass through untouched.
 */
import pg from "pg";
import { FencedStateError, InvalidInputError, UnavailableError } from "../../core/errors.js";

/** SQLSTATE codes (https://www.postgresql.org/docs/15/errcodes-appendix.html) and Node socket codes, by kind. */
const KINDS: [string, (code: string) => boolean][] = [
  ["connection lost", (c) => c.startsWith("08") || ["ECONNRESET", "EPIPE", "ECONNABORTED"].includes(c)],
  ["connection terminated by the server", (c) => c === "57P01" || c === "57P02" || c === "57P05"],
  ["server starting up or shutting down", (c) => c === "57P03"],
  ["cannot connect", (c) => ["ECONNREFUSED", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN"].includes(c)],
  ["timeout", (c) => c === "57014" || c === "ETIMEDOUT" || c === "25P03"],
  ["busy", (c) => c === "40P01" || c === "40001" || c === "55P03" || c === "53300"],
  ["server out of resources", (c) => c.startsWith("53")],
];

/**
 * SQLSTATE classes that mean the statement's data was refused (class 22, data exception: an untranslatable
 * character, a value out of range; class 54, program limit exceeded: an index row too large), so the same request
 * would fail again. The transaction rolled back: nothing was written.
 */
const INPUT_CLASSES = ["22", "54"];

/**
 * The typed error for any failure of the driver or the server: `INVALID_INPUT` when the server refused the data,
 * `UNAVAILABLE` otherwise (a typed error already is one passes through). Nothing here throws: every failure reaches
 * the caller typed (G6), so `update()` and `commitRetryingUnavailable()` can retry what is retryable.
 */
export function storeError(err: unknown, context?: string): FencedStateError {
  if (err instanceof FencedStateError) return err;
  if (err instanceof pg.DatabaseError && INPUT_CLASSES.includes(String(err.code).slice(0, 2))) {
    return new InvalidInputError({
      issues: [{ path: [], message: `refused by PostgreSQL: ${err.message} [${err.code}]` }],
    });
  }
  return unavailable(err, context);
}

/** Wraps any failure of the driver or the server as `UnavailableError`, keeping the original as `cause`. */
export function unavailable(err: unknown, context?: string): UnavailableError {
  const code = String((err as { code?: unknown } | null)?.code ?? "");
  const message = err instanceof Error ? err.message : String(err);
  // node-postgres reports a dropped socket without a code; its messages are the only signal there.
  const kind =
    KINDS.find(([, test]) => test(code))?.[0] ??
    (/Connection terminated|not queryable|timeout/i.test(message) ? "connection lost" : "postgres error");
  const detail = `${kind}${context ? ` (${context})` : ""}: ${message}${code ? ` [${code}]` : ""}`;
  return new UnavailableError({ cause: detail }, { cause: err });
}

/**
 * Whether `err` means the connection itself failed (a dropped socket, a client-side timeout with a query in flight,
 * the server ending the session) rather than a statement failing on a live connection.
 */
export function isConnectionFailure(err: unknown): boolean {
  if (!(err instanceof pg.DatabaseError)) return true;
  const code = String(err.code);
  return code.startsWith("57P") || code.startsWith("08") || code === "25P03";
}

/** Whether `err` is a unique-key violation (23505) on the table `table` of this store's schema. */
export function isUniqueViolation(err: unknown, table: string): boolean {
  return err instanceof pg.DatabaseError && err.code === "23505" && err.table === table;
}
