/**
 * The Postgres schema and its migrations. `schema_migrations` records what ran; `migrate` applies the rest under a
 * transaction-scoped advisory lock, so any number of processes may start at once against an empty database.
 */
import type pg from "pg";
import { CHECKPOINTS_MIGRATION } from "./checkpoints.js";
import { EVENT_HORIZON_MIGRATION } from "./events.js";
import { lockId } from "./locks.js";

/**
 * Migrations, applied in order; entry `i` is version `i + 1`. `$S` stands for the quoted schema name. Keys use
 * `COLLATE "C"`: byte order, which for UTF-8 text is the code-point order SQLite and the memory backend list in.
 */
export const POSTGRES_MIGRATIONS: readonly string[] = [
  `CREATE TABLE $S.records (
     key text COLLATE "C" PRIMARY KEY,
     value text,
     version bigint NOT NULL,
     epoch bigint NOT NULL,
     updated_at bigint NOT NULL
   );
   CREATE TABLE $S.claims (
     key text COLLATE "C" PRIMARY KEY,
     owner text,
     epoch bigint NOT NULL,
     expires_at bigint NOT NULL
   );
   CREATE TABLE $S.idempotency (
     op_id text COLLATE "C" PRIMARY KEY,
     hash text NOT NULL,
     result text NOT NULL,
     created_at bigint NOT NULL
   );
   CREATE INDEX idempotency_created_at ON $S.idempotency (created_at);
   CREATE TABLE $S.events (
     seq bigint PRIMARY KEY,
     ts bigint NOT NULL,
     key text COLLATE "C" NOT NULL,
     version bigint NOT NULL,
     epoch bigint NOT NULL,
     owner text,
     op_id text,
     outcome text NOT NULL
   );
   -- One row: the last event seq. Taking it with UPDATE row-locks it until commit, so seqs become visible in
   -- increasing order and a watcher reading "seq > n" can never skip one that commits late (a plain sequence could).
   CREATE TABLE $S.event_seq (
     only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
     seq bigint NOT NULL
   );
   INSERT INTO $S.event_seq (seq) VALUES (0);`,
  CHECKPOINTS_MIGRATION,
  // The store-wide epoch counter (BackendTx.nextEpoch), starting above every epoch already handed out. A sequence
  // takes no lock that lasts to commit, so claims on different keys do not wait for each other.
  `CREATE SEQUENCE $S.epoch_seq AS bigint MINVALUE 1;
   SELECT setval('$S.epoch_seq', greatest(coalesce(max(epoch), 0), 1), max(epoch) IS NOT NULL) FROM $S.claims;`,
  EVENT_HORIZON_MIGRATION,
];

/** A schema name fenced-state accepts: a plain identifier, so it can be quoted without surprises. */
export const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** `"name"`, safe because `SCHEMA_NAME` admits no quote. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Creates the schema if needed and applies pending migrations. Returns the schema's version afterwards. */
export async function migrate(pool: pg.Pool, schema: string): Promise<number> {
  const s = quoteIdent(schema);
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query("BEGIN");
    // Serializes concurrent starters; CREATE ... IF NOT EXISTS alone races on the catalog's unique indexes.
    await client.query("SELECT pg_advisory_xact_lock($1::bigint)", [lockId(schema, "migrate", "")]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${s}.schema_migrations (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const { rows } = await client.query<{ v: number | null }>(`SELECT max(version) AS v FROM ${s}.schema_migrations`);
    const applied = rows[0]?.v ?? 0;
    for (let v = applied + 1; v <= POSTGRES_MIGRATIONS.length; v++) {
      await client.query(POSTGRES_MIGRATIONS[v - 1]!.replaceAll("$S", s));
      await client.query(`INSERT INTO ${s}.schema_migrations (version) VALUES ($1)`, [v]);
    }
    await client.query("COMMIT");
    return Math.max(applied, POSTGRES_MIGRATIONS.length);
  } catch (err) {
    await client.query("ROLLBACK").catch(() => (broken = true));
    throw err;
  } finally {
    client.release(broken);
  }
}
