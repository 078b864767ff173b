/**
 * The SQL of a transaction, rendered as text with literals so that several statements travel in one round trip
 * (the simple-query protocol takes no parameters). Every value passes through `text()` or `int()`: strings are
 * quoted by node-postgres's `escapeLiteral`, numbers must be safe integers.
 */
import pg from "pg";
import type { IdempotencyRecord, StoredClaim, StoredRecord } from "../../core/backend.js";
import { InvalidInputError } from "../../core/errors.js";

/** What `text` must look at: a quote or backslash (escaped) and NUL (refused). */
const SPECIAL = /['\\\u0000]/;

/**
 * A string literal. PostgreSQL text cannot hold NUL; refuse it rather than let it cut the query short. A string with
 * no quote, backslash or NUL is quoted as it is, which is what `escapeLiteral` answers for it (property-tested): its
 * loop builds the literal one character at a time, a string per character (bench/README.md, issue 18's ninth round).
 */
export function text(value: string | null | undefined): string {
  if (value === null || value === undefined) return "NULL";
  if (!SPECIAL.test(value)) return `'${value}'`;
  return pg.escapeLiteral(textParam(value));
}

/** A string for a statement parameter, refused like `text` when it holds NUL, which PostgreSQL text cannot. */
export function textParam(value: string): string {
  if (value.includes("\u0000")) {
    throw new InvalidInputError({
      issues: [{ path: [], message: "text containing NUL (U+0000) cannot be stored in PostgreSQL" }],
    });
  }
  return value;
}

/** A bytea literal (hex, independent of standard_conforming_strings). */
export function bytes(value: Uint8Array): string {
  return `decode('${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("hex")}', 'hex')`;
}

/** An array literal of already-rendered literals (`text`, `int`, `bytes`, …); cast it where the type is not inferred. */
export function array(items: readonly string[]): string {
  return `ARRAY[${items.join(", ")}]`;
}

/** An integer literal. */
export function int(value: number | string): string {
  const s = String(value);
  if (!/^-?\d{1,19}$/.test(s) || (typeof value === "number" && !Number.isSafeInteger(value))) {
    throw new TypeError(`not an integer: ${s}`);
  }
  return s;
}

/**
 * A statement a transaction runs on every commit, prepared once per connection (SQL `PREPARE`, sent before the
 * connection's first transaction by the backend's `connect`) and run as `EXECUTE name(literals)` inside the transaction's batch.
 * The server then parses and plans it once per connection instead of once per commit: a commit's batches cost the
 * server ~35% less CPU (bench/README.md, issue 18's eighth round), which is what bounds commits when the CPUs are busy. Batches
 * still travel as one simple query each; only the statements' text changed.
 */
export interface Prepared {
  /** The statement's name in the session: `fenced_x_` and what it does (reads use `fenced_` + their own names). */
  name: string;
  /** The SQL types of `$1`, `$2`, …. */
  params: readonly string[];
  body: string;
}

/** What every prepared transaction statement's name begins with (reads' named statements begin `fenced_` only). */
export const PREPARED_PREFIX = "fenced_x_";

/** Declares a prepared statement; `run` renders its `EXECUTE` with the arguments as literals (`text`, `int`, …). */
export function prepared(name: string, params: readonly string[], body: string) {
  const statement: Prepared = { name: `${PREPARED_PREFIX}${name}`, params, body };
  return {
    statement,
    run: (...args: string[]) => `EXECUTE ${statement.name}${args.length > 0 ? `(${args.join(", ")})` : ""}`,
  };
}

/**
 * What makes a new connection ready for `EXECUTE`: one simple query preparing them all. A connection whose prepare
 * failed is destroyed, never reused (it may hold some of them, and a second PREPARE of a name fails).
 */
export function prepareAll(statements: readonly Prepared[]): string {
  return statements
    .map((p) => `PREPARE ${p.name}${p.params.length > 0 ? `(${p.params.join(", ")})` : ""} AS ${p.body}`)
    .join(";\n");
}

/** The statements of a transaction on the quoted schema `s`. */
export function txSql(s: string) {
  const lockOne = prepared("lock", ["bigint"], "SELECT pg_advisory_xact_lock($1)");
  const lockOneShared = prepared("lock_shared", ["bigint"], "SELECT pg_advisory_xact_lock_shared($1)");
  const keyState = prepared(
    "key_state",
    ["text"],
    `SELECT $1 AS key, r.value, r.version, r.epoch AS r_epoch, r.updated_at, c.owner, c.epoch AS c_epoch, c.expires_at
       FROM (SELECT) AS one LEFT JOIN ${s}.records r ON r.key = $1 LEFT JOIN ${s}.claims c ON c.key = $1`,
  );
  const idempotency = prepared(
    "idempotency",
    ["text"],
    `SELECT hash, result, created_at FROM ${s}.idempotency WHERE op_id = $1`,
  );
  const putRecord = prepared(
    "put_record",
    ["text", "text", "bigint", "bigint", "bigint"],
    `INSERT INTO ${s}.records (key, value, version, epoch, updated_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = excluded.version,
         epoch = excluded.epoch, updated_at = excluded.updated_at`,
  );
  const updateRecord = prepared(
    "update_record",
    ["text", "text", "bigint", "bigint", "bigint"],
    `UPDATE ${s}.records SET value = $2, version = $3, epoch = $4, updated_at = $5 WHERE key = $1`,
  );
  const putIdempotency = prepared(
    "put_idempotency",
    ["text", "text", "text", "bigint"],
    `INSERT INTO ${s}.idempotency (op_id, hash, result, created_at) VALUES ($1, $2, $3, $4)`,
  );
  const record = (r: StoredRecord) => [text(r.key), text(r.valueText), int(r.version), int(r.epoch), int(r.updatedAt)];
  return {
    /** The statements below that run as `EXECUTE`. */
    prepared: [lockOne, lockOneShared, keyState, idempotency, putRecord, updateRecord, putIdempotency].map(
      (p) => p.statement,
    ),
    /** Takes advisory locks in the order given (one Function Scan, row by row), shared where `shared` says so. */
    lock: (ids: string[], shared: (id: string) => boolean) =>
      ids.length === 1
        ? (shared(ids[0]!) ? lockOneShared : lockOne).run(int(ids[0]!))
        : `SELECT CASE WHEN s THEN pg_advisory_xact_lock_shared(id) ELSE pg_advisory_xact_lock(id) END
             FROM unnest(${array(ids.map(int))}::bigint[], ${array(ids.map((id) => String(shared(id))))}::boolean[]) AS t(id, s)`,
    /** Each key's record and claim (NULLs where there is none); one key, the common case, plans as two index probes. */
    keyStates: (keys: string[]) =>
      keys.length === 1
        ? keyState.run(text(keys[0]))
        : `SELECT k.key, r.value, r.version, r.epoch AS r_epoch, r.updated_at, c.owner, c.epoch AS c_epoch, c.expires_at
             FROM unnest(${array(keys.map(text))}::text[]) AS k(key)
             LEFT JOIN ${s}.records r ON r.key = k.key COLLATE "C" LEFT JOIN ${s}.claims c ON c.key = k.key COLLATE "C"`,
    idempotency: (opId: string) => idempotency.run(text(opId)),
    putRecord: (r: StoredRecord) => putRecord.run(...record(r)),
    /** `putRecord` for a key whose row exists. */
    updateRecord: (r: StoredRecord) => updateRecord.run(...record(r)),
    putClaim: (c: StoredClaim) =>
      `INSERT INTO ${s}.claims (key, owner, epoch, expires_at)
         VALUES (${text(c.key)}, ${text(c.owner)}, ${int(c.epoch)}, ${int(c.expiresAt)})
         ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, epoch = excluded.epoch, expires_at = excluded.expires_at`,
    putIdempotency: (r: IdempotencyRecord) =>
      putIdempotency.run(text(r.opId), text(r.hash), text(r.resultText), int(r.createdAt)),
    /** The next store-wide epoch above `atLeast`; the sequence only jumps when a key's epoch is ahead of it. */
    nextEpoch: (atLeast: number) =>
      `SELECT CASE WHEN n > ${int(atLeast)} THEN n ELSE setval('${s}.epoch_seq', ${int(atLeast)} + 1) END AS epoch
         FROM (SELECT nextval('${s}.epoch_seq') AS n) AS next`,
  };
}

export type TxSql = ReturnType<typeof txSql>;
