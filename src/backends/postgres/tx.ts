/**
 * One Postgres transaction as the core sees it (`BackendTx`). It runs under PostgreSQL's default READ COMMITTED
 * isolation and stays correct there because every read the core decides on comes after the lock that guards it:
 * - a key's advisory lock is taken before its state is read, and held to commit, so no other transaction can change
 *   that key (or create it, when it is missing) between the read and the write;
 * - an opId's advisory lock is taken before its idempotency row is read, so two retries of one opId run one after
 *   the other and the second one sees the first one's result;
 * - the lock statement and the read are separate statements: under READ COMMITTED each statement takes a fresh
 *   snapshot, so the read sees everything committed by the lock's previous holder.
 */
import type pg from "pg";
import type { BackendTx, IdempotencyRecord, KeyState } from "../../core/backend.js";
import type { StateEvent } from "../../core/schemas.js";
import { lockId, lockOrder } from "./locks.js";

/**
 * The SQL of a transaction, on the quoted schema `s`. Named, so each connection parses each statement once (a pool,
 * and so each of its connections, serves one schema).
 */
export function txStatements(s: string) {
  const named = (name: string, text: string) => ({ name: `fenced_${name}`, text });
  return {
    lock: named("lock", "SELECT pg_advisory_xact_lock(id) FROM unnest($1::bigint[]) AS id"),
    keyState: named(
      "key_state",
      `SELECT r.value, r.version, r.epoch AS r_epoch, r.updated_at, c.owner, c.epoch AS c_epoch, c.expires_at
         FROM (SELECT 1) AS one LEFT JOIN ${s}.records r ON r.key = $1 LEFT JOIN ${s}.claims c ON c.key = $1`,
    ),
    putRecord: named(
      "put_record",
      `INSERT INTO ${s}.records (key, value, version, epoch, updated_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = excluded.version,
           epoch = excluded.epoch, updated_at = excluded.updated_at`,
    ),
    putClaim: named(
      "put_claim",
      `INSERT INTO ${s}.claims (key, owner, epoch, expires_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, epoch = excluded.epoch, expires_at = excluded.expires_at`,
    ),
    getIdem: named("get_idem", `SELECT hash, result, created_at FROM ${s}.idempotency WHERE op_id = $1`),
    putIdem: named("put_idem", `INSERT INTO ${s}.idempotency (op_id, hash, result, created_at) VALUES ($1, $2, $3, $4)`),
    // The seq row stays locked until commit: see event_seq in schema.ts.
    appendEvent: named(
      "append_event",
      `WITH next AS (UPDATE ${s}.event_seq SET seq = seq + 1 RETURNING seq)
       INSERT INTO ${s}.events (seq, ts, key, version, epoch, owner, op_id, outcome)
         SELECT next.seq, $1, $2, $3, $4, $5, $6, $7 FROM next RETURNING seq`,
    ),
  };
}

export type TxStatements = ReturnType<typeof txStatements>;

interface KeyStateRow {
  value: string | null;
  version: string | null;
  r_epoch: string | null;
  updated_at: string | null;
  owner: string | null;
  c_epoch: string | null;
  expires_at: string | null;
}

export class PostgresTx implements BackendTx {
  /** Whether this transaction wrote to the event log (then its commit notifies other hosts). */
  appended = false;
  private readonly held = new Set<string>();

  constructor(
    private readonly client: pg.PoolClient,
    private readonly schema: string,
    private readonly sql: TxStatements,
  ) {}

  async lock(scope: { keys: readonly string[]; opId?: string }): Promise<void> {
    const ids = scope.keys.map((k) => lockId(this.schema, "key", k));
    if (scope.opId !== undefined) ids.push(lockId(this.schema, "op", scope.opId));
    await this.take(ids);
  }

  async getKeyState(key: string): Promise<KeyState> {
    await this.take([lockId(this.schema, "key", key)]);
    const row = (await this.client.query<KeyStateRow>({ ...this.sql.keyState, values: [key] })).rows[0]!;
    const state: KeyState = {};
    if (row.version !== null) {
      state.record = {
        key,
        valueText: row.value,
        version: Number(row.version),
        epoch: Number(row.r_epoch),
        updatedAt: Number(row.updated_at),
      };
    }
    if (row.c_epoch !== null) {
      state.claim = { key, owner: row.owner, epoch: Number(row.c_epoch), expiresAt: Number(row.expires_at) };
    }
    return state;
  }

  async putRecord(r: { key: string; valueText: string | null; version: number; epoch: number; updatedAt: number }): Promise<void> {
    await this.client.query({ ...this.sql.putRecord, values: [r.key, r.valueText, r.version, r.epoch, r.updatedAt] });
  }

  async putClaim(c: { key: string; owner: string | null; epoch: number; expiresAt: number }): Promise<void> {
    await this.client.query({ ...this.sql.putClaim, values: [c.key, c.owner, c.epoch, c.expiresAt] });
  }

  async getIdempotency(opId: string): Promise<IdempotencyRecord | undefined> {
    await this.take([lockId(this.schema, "op", opId)]);
    const row = (await this.client.query<{ hash: string; result: string; created_at: string }>({ ...this.sql.getIdem, values: [opId] }))
      .rows[0];
    return row && { opId, hash: row.hash, resultText: row.result, createdAt: Number(row.created_at) };
  }

  async putIdempotency(r: IdempotencyRecord): Promise<void> {
    await this.client.query({ ...this.sql.putIdem, values: [r.opId, r.hash, r.resultText, r.createdAt] });
  }

  async appendEvent(e: Omit<StateEvent, "seq">): Promise<number> {
    const values = [e.ts, e.key, e.version, e.epoch, e.owner ?? null, e.opId ?? null, e.outcome];
    const { rows } = await this.client.query<{ seq: string }>({ ...this.sql.appendEvent, values });
    this.appended = true;
    return Number(rows[0]!.seq);
  }

  /** Takes the advisory locks not yet held, in the global order. */
  private async take(ids: string[]): Promise<void> {
    const missing = lockOrder(ids.filter((id) => !this.held.has(id)));
    if (missing.length === 0) return;
    await this.client.query({ ...this.sql.lock, values: [missing] });
    for (const id of missing) this.held.add(id);
  }
}
