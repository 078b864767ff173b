/**
 * The SQL of a transaction, rendered as text with literals so that several statements travel in one round trip
 * (the simple-query protocol takes no parameters). Every value passes through `text()` or `int()`: strings are
 * quoted by node-postgres's `escapeLiteral`, numbers must be safe integers.
 */
import pg from "pg";
import type { IdempotencyRecord, StoredClaim, StoredRecord } from "../../core/backend.js";
import { InvalidInputError } from "../../core/errors.js";

/** A string literal. PostgreSQL text cannot hold NUL; refuse it rather than let it cut the query short. */
export function text(value: string | null | undefined): string {
  if (value === null || value === undefined) return "NULL";
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

/** An integer literal. */
export function int(value: number | string): string {
  const s = String(value);
  if (!/^-?\d{1,19}$/.test(s) || (typeof value === "number" && !Number.isSafeInteger(value))) {
    throw new TypeError(`not an integer: ${s}`);
  }
  return s;
}

/** The statements of a transaction on the quoted schema `s`. */
export function txSql(s: string) {
  return {
    /** Takes advisory locks in the order given (one Function Scan, row by row), shared where `shared` says so. */
    lock: (ids: string[], shared: (id: string) => boolean) =>
      ids.length === 1
        ? `SELECT pg_advisory_xact_lock${shared(ids[0]!) ? "_shared" : ""}(${int(ids[0]!)})`
        : `SELECT CASE WHEN s THEN pg_advisory_xact_lock_shared(id) ELSE pg_advisory_xact_lock(id) END
             FROM unnest(ARRAY[${ids.map(int).join(",")}]::bigint[], ARRAY[${ids.map((id) => String(shared(id))).join(",")}]::boolean[]) AS t(id, s)`,
    /** Each key's record and claim (NULLs where there is none); one key, the common case, plans as two index probes. */
    keyStates: (keys: string[]) =>
      keys.length === 1
        ? `SELECT ${text(keys[0])} AS key, r.value, r.version, r.epoch AS r_epoch, r.updated_at, c.owner, c.epoch AS c_epoch,
                  c.expires_at
             FROM (SELECT) AS one LEFT JOIN ${s}.records r ON r.key = ${text(keys[0])}
             LEFT JOIN ${s}.claims c ON c.key = ${text(keys[0])}`
        : `SELECT k.key, r.value, r.version, r.epoch AS r_epoch, r.updated_at, c.owner, c.epoch AS c_epoch, c.expires_at
             FROM unnest(ARRAY[${keys.map(text).join(",")}]::text[]) AS k(key)
             LEFT JOIN ${s}.records r ON r.key = k.key COLLATE "C" LEFT JOIN ${s}.claims c ON c.key = k.key COLLATE "C"`,
    idempotency: (opId: string) => `SELECT hash, result, created_at FROM ${s}.idempotency WHERE op_id = ${text(opId)}`,
    putRecord: (r: StoredRecord) =>
      `INSERT INTO ${s}.records (key, value, version, epoch, updated_at)
         VALUES (${text(r.key)}, ${text(r.valueText)}, ${int(r.version)}, ${int(r.epoch)}, ${int(r.updatedAt)})
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = excluded.version,
           epoch = excluded.epoch, updated_at = excluded.updated_at`,
    /** `putRecord` for a key whose row exists. */
    updateRecord: (r: StoredRecord) =>
      `UPDATE ${s}.records SET value = ${text(r.valueText)}, version = ${int(r.version)}, epoch = ${int(r.epoch)},
         updated_at = ${int(r.updatedAt)} WHERE key = ${text(r.key)}`,
    putClaim: (c: StoredClaim) =>
      `INSERT INTO ${s}.claims (key, owner, epoch, expires_at)
         VALUES (${text(c.key)}, ${text(c.owner)}, ${int(c.epoch)}, ${int(c.expiresAt)})
         ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, epoch = excluded.epoch, expires_at = excluded.expires_at`,
    putIdempotency: (r: IdempotencyRecord) =>
      `INSERT INTO ${s}.idempotency (op_id, hash, result, created_at)
         VALUES (${text(r.opId)}, ${text(r.hash)}, ${text(r.resultText)}, ${int(r.createdAt)})`,
    /** The next store-wide epoch above `atLeast`; the sequence only jumps when a key's epoch is ahead of it. */
    nextEpoch: (atLeast: number) =>
      `SELECT CASE WHEN n > ${int(atLeast)} THEN n ELSE setval('${s}.epoch_seq', ${int(atLeast)} + 1) END AS epoch
         FROM (SELECT nextval('${s}.epoch_seq') AS n) AS next`,
  };
}

export type TxSql = ReturnType<typeof txSql>;
