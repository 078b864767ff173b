/**
 * Checkpoint rows for the Postgres backend (`CheckpointTx`, `CheckpointReader`): the LangGraph saver's storage. A
 * checkpoint is one row; each value it wrote is a row of `checkpoint_blobs`; writes are rows of `checkpoint_writes`.
 * Large values need no packing here: PostgreSQL moves them out of line (TOAST) by itself.
 *
 * Writes ride in the transaction's batch (tx.ts), so a put costs one more round trip than a plain commit (its insert
 * answers whether the id was new) and putWrites none. A read is one round trip: the row, the values it refers to and
 * its writes, as three statements in one REPEATABLE READ snapshot.
 */
import type pg from "pg";
import {
  HEAD_CHECKPOINT_FIELD,
  type BlobAddress,
  type WriteKey,
  type CheckpointBlob,
  type CheckpointQuery,
  type CheckpointReader,
  type CheckpointRef,
  type CheckpointRow,
  type CheckpointWrite,
  type LoadedCheckpoint,
} from "../../core/checkpoints.js";
import { InvalidInputError } from "../../core/errors.js";
import { storeError, unavailable } from "./errors.js";
import { bytes, int, text } from "./sql.js";

/** The migration that adds checkpoint storage (POSTGRES_MIGRATIONS[1]); `$S` is the quoted schema. */
export const CHECKPOINTS_MIGRATION = `
  CREATE TABLE $S.checkpoints (
    thread_id text COLLATE "C" NOT NULL,
    ns text COLLATE "C" NOT NULL,
    checkpoint_id text COLLATE "C" NOT NULL,
    parent_id text,
    head_version bigint NOT NULL,
    type text NOT NULL,
    checkpoint bytea NOT NULL,
    metadata bytea NOT NULL,
    blob_refs jsonb NOT NULL, -- {channel: [checkpointId that wrote the value, its head version]}
    PRIMARY KEY (thread_id, ns, checkpoint_id)
  );
  -- list() without a thread: newest first by (checkpoint_id, thread_id, ns).
  CREATE INDEX checkpoints_newest ON $S.checkpoints (checkpoint_id DESC, thread_id DESC, ns DESC);
  CREATE TABLE $S.checkpoint_blobs (
    thread_id text COLLATE "C" NOT NULL,
    ns text COLLATE "C" NOT NULL,
    checkpoint_id text COLLATE "C" NOT NULL,
    channel text COLLATE "C" NOT NULL,
    type text NOT NULL,
    value bytea NOT NULL,
    PRIMARY KEY (thread_id, ns, checkpoint_id, channel)
  );
  -- Byte order of UTF-8 text is code-point order: the (taskPath, taskId, idx) order LangGraph replays writes in.
  CREATE TABLE $S.checkpoint_writes (
    thread_id text COLLATE "C" NOT NULL,
    ns text COLLATE "C" NOT NULL,
    checkpoint_id text COLLATE "C" NOT NULL,
    task_id text COLLATE "C" NOT NULL,
    idx integer NOT NULL,
    channel text NOT NULL,
    type text NOT NULL,
    value bytea NOT NULL,
    task_path text COLLATE "C" NOT NULL,
    PRIMARY KEY (thread_id, ns, checkpoint_id, task_id, idx)
  );`;

/** The checkpoint statements of a transaction on the quoted schema `s` (rendered as text, see sql.ts). */
export function checkpointTxSql(s: string) {
  return {
    /** Inserts the row and, only if it was new, its blobs; answers `inserted` = 0 or 1. */
    insert: (r: CheckpointRow, blobs: CheckpointBlob[]) => {
      const refs = Object.fromEntries(
        Object.entries(r.blobRefs).map(([c, ref]) => [c, [ref.checkpointId, ref.headVersion]]),
      );
      const row = `INSERT INTO ${s}.checkpoints (thread_id, ns, checkpoint_id, parent_id, head_version, type, checkpoint, metadata, blob_refs)
        VALUES (${text(r.threadId)}, ${text(r.ns)}, ${text(r.checkpointId)}, ${text(r.parentId)}, ${int(r.headVersion)},
                ${text(r.type)}, ${bytes(r.checkpoint)}, ${bytes(r.metadata)}, ${text(JSON.stringify(refs))}::jsonb)
        ON CONFLICT DO NOTHING RETURNING 1`;
      if (blobs.length === 0) return `WITH inserted AS (${row}) SELECT count(*)::int AS inserted FROM inserted`;
      const values = blobs.map((b) => `(${text(b.channel)}, ${text(b.type)}, ${bytes(b.value)})`).join(", ");
      return `WITH inserted AS (${row}), blobs AS (
          INSERT INTO ${s}.checkpoint_blobs (thread_id, ns, checkpoint_id, channel, type, value)
          SELECT ${text(r.threadId)}, ${text(r.ns)}, ${text(r.checkpointId)}, v.channel, v.type, v.value
            FROM (VALUES ${values}) AS v(channel, type, value) WHERE EXISTS (SELECT 1 FROM inserted))
        SELECT count(*)::int AS inserted FROM inserted`;
    },
    /** Regular writes (idx >= 0) are first-wins; special writes (idx < 0: error, interrupt, resume…) replace. */
    putWrites: (ref: CheckpointRef, writes: CheckpointWrite[]) => {
      // One statement may not touch a row twice: settle repeats within the batch first, by the same rule.
      const settled = new Map<string, CheckpointWrite>();
      for (const w of writes) {
        const k = `${w.taskId}\u0000${w.idx}`;
        if (w.idx < 0 || !settled.has(k)) settled.set(k, w);
      }
      const values = [...settled.values()]
        .map(
          (w) =>
            `(${text(ref.threadId)}, ${text(ref.ns)}, ${text(ref.checkpointId)}, ${text(w.taskId)}, ${int(w.idx)},
              ${text(w.channel)}, ${text(w.type)}, ${bytes(w.value)}, ${text(w.taskPath)})`,
        )
        .join(", ");
      return `INSERT INTO ${s}.checkpoint_writes (thread_id, ns, checkpoint_id, task_id, idx, channel, type, value, task_path)
        VALUES ${values}
        ON CONFLICT (thread_id, ns, checkpoint_id, task_id, idx) DO UPDATE SET channel = excluded.channel,
          type = excluded.type, value = excluded.value, task_path = excluded.task_path WHERE excluded.idx < 0`;
    },
    deleteThread: (threadId: string) =>
      [`checkpoints`, `checkpoint_blobs`, `checkpoint_writes`].map(
        (t) => `DELETE FROM ${s}.${t} WHERE thread_id = ${text(threadId)}`,
      ),
    /** Rows and their writes; values only where named (kept checkpoints may refer to a deleted one's values). */
    deleteCheckpoints: (refs: CheckpointRef[], blobs: BlobAddress[]) => {
      const id = (r: CheckpointRef) => `(${text(r.threadId)}, ${text(r.ns)}, ${text(r.checkpointId)})`;
      const statements: string[] = [];
      if (refs.length > 0) {
        const list = refs.map(id).join(", ");
        for (const t of ["checkpoints", "checkpoint_writes"]) {
          statements.push(`DELETE FROM ${s}.${t} WHERE (thread_id, ns, checkpoint_id) IN (${list})`);
        }
      }
      if (blobs.length > 0) {
        const list = blobs
          .map((b) => `(${text(b.threadId)}, ${text(b.ns)}, ${text(b.checkpointId)}, ${text(b.channel)})`)
          .join(", ");
        statements.push(`DELETE FROM ${s}.checkpoint_blobs WHERE (thread_id, ns, checkpoint_id, channel) IN (${list})`);
      }
      return statements;
    },
    deleteWrites: (ref: CheckpointRef, writes: WriteKey[]) => {
      const list = writes.map((w) => `(${text(w.taskId)}, ${int(w.idx)})`).join(", ");
      return `DELETE FROM ${s}.checkpoint_writes WHERE thread_id = ${text(ref.threadId)} AND ns = ${text(ref.ns)}
        AND checkpoint_id = ${text(ref.checkpointId)} AND (task_id, idx) IN (${list})`;
    },
    setHeadVersion: (ref: CheckpointRef, headVersion: number) =>
      `UPDATE ${s}.checkpoints SET head_version = ${int(headVersion)} WHERE thread_id = ${text(ref.threadId)}
        AND ns = ${text(ref.ns)} AND checkpoint_id = ${text(ref.checkpointId)}`,
  };
}

export type CheckpointTxSql = ReturnType<typeof checkpointTxSql>;

interface RowData {
  thread_id: string;
  ns: string;
  checkpoint_id: string;
  parent_id: string | null;
  head_version: string;
  type: string;
  checkpoint: Buffer;
  metadata: Buffer;
  blob_refs: Record<string, [string, number]>;
}

interface BlobData {
  thread_id: string;
  ns: string;
  checkpoint_id: string;
  channel: string;
  type: string;
  value: Buffer;
}

interface WriteData {
  thread_id: string;
  ns: string;
  checkpoint_id: string;
  task_id: string;
  idx: number;
  channel: string;
  type: string;
  value: Buffer;
  task_path: string;
}

export class PostgresCheckpoints implements CheckpointReader {
  constructor(
    private readonly pool: pg.Pool,
    /** The quoted schema. */
    private readonly s: string,
  ) {}

  async getCheckpoint(ref: CheckpointRef): Promise<LoadedCheckpoint | undefined> {
    const where = `c.thread_id = ${text(ref.threadId)} AND c.ns = ${text(ref.ns)} AND c.checkpoint_id = ${text(ref.checkpointId)}`;
    return (await this.load(`SELECT * FROM ${this.s}.checkpoints AS c WHERE ${where}`))[0];
  }

  async getHeadCheckpoint(q: { threadId: string; ns: string; headKey: string }): Promise<LoadedCheckpoint | undefined> {
    // The head record's value is {"checkpointId": …}; read in the same snapshot as the rows.
    const head = `(SELECT r.value::json ->> '${HEAD_CHECKPOINT_FIELD}' FROM ${this.s}.records AS r WHERE r.key = ${text(q.headKey)})`;
    const where = `c.thread_id = ${text(q.threadId)} AND c.ns = ${text(q.ns)} AND c.checkpoint_id = ${head}`;
    return (await this.load(`SELECT * FROM ${this.s}.checkpoints AS c WHERE ${where}`))[0];
  }

  async listCheckpoints(q: CheckpointQuery): Promise<LoadedCheckpoint[]> {
    const where: string[] = [];
    if (q.threadId !== undefined) where.push(`c.thread_id = ${text(q.threadId)}`);
    if (q.ns !== undefined) where.push(`c.ns = ${text(q.ns)}`);
    if (q.beforeId !== undefined) where.push(`c.checkpoint_id < ${text(q.beforeId)}`);
    if (q.after !== undefined) {
      where.push(
        `(c.checkpoint_id, c.thread_id, c.ns) < (${text(q.after.checkpointId)}, ${text(q.after.threadId)}, ${text(q.after.ns)})`,
      );
    }
    for (const [key, value] of Object.entries(q.metadata ?? {})) {
      if (key.includes('"')) {
        throw new InvalidInputError({
          issues: [{ path: ["filter", key], message: 'metadata filter keys may not contain "' }],
        });
      }
      // The value's JSON text as stored (json, unlike jsonb, keeps it) against the filter's minified text.
      where.push(
        `CASE WHEN c.type = 'json' THEN (convert_from(c.metadata, 'UTF8')::json -> ${text(key)})::text = ${text(JSON.stringify(value))}
              ELSE false END`,
      );
    }
    const filter = where.length > 0 ? `WHERE ${where.join(" AND ")}` : "";
    return this.load(
      `SELECT * FROM ${this.s}.checkpoints AS c ${filter} ORDER BY c.checkpoint_id DESC, c.thread_id DESC, c.ns DESC LIMIT ${int(q.limit)}`,
    );
  }

  /**
   * The rows `picked` selects, each with every value it refers to (its own and its ancestors') and its writes: three
   * statements, one snapshot, one round trip.
   */
  private async load(picked: string): Promise<LoadedCheckpoint[]> {
    const blobs = `SELECT p.thread_id, p.ns, p.checkpoint_id, ref.key AS channel, b.type, b.value
        FROM (${picked}) AS p CROSS JOIN jsonb_each(p.blob_refs) AS ref
        JOIN ${this.s}.checkpoint_blobs AS b ON b.thread_id = p.thread_id AND b.ns = p.ns
         AND b.checkpoint_id = ref.value ->> 0 AND b.channel = ref.key`;
    const writes = `SELECT w.* FROM (${picked}) AS p JOIN ${this.s}.checkpoint_writes AS w
         ON w.thread_id = p.thread_id AND w.ns = p.ns AND w.checkpoint_id = p.checkpoint_id
       ORDER BY w.task_path, w.task_id, w.idx`;
    const results = await this.snapshot([picked, blobs, writes]);
    const [rows, blobRows, writeRows] = results.map((r) => r.rows) as [RowData[], BlobData[], WriteData[]];
    const id = (r: { thread_id: string; ns: string; checkpoint_id: string }) =>
      `${r.thread_id}\u0000${r.ns}\u0000${r.checkpoint_id}`;
    const blobsOf = group(blobRows, id);
    const writesOf = group(writeRows, id);
    return rows.map((row) => ({
      threadId: row.thread_id,
      ns: row.ns,
      checkpointId: row.checkpoint_id,
      parentId: row.parent_id,
      headVersion: Number(row.head_version),
      type: row.type,
      checkpoint: row.checkpoint,
      metadata: row.metadata,
      blobRefs: Object.fromEntries(
        Object.entries(row.blob_refs).map(([channel, [checkpointId, headVersion]]) => [
          channel,
          { checkpointId, headVersion },
        ]),
      ),
      blobs: (blobsOf.get(id(row)) ?? []).map((b) => ({ channel: b.channel, type: b.type, value: b.value })),
      writes: (writesOf.get(id(row)) ?? []).map((w) => ({
        taskId: w.task_id,
        idx: w.idx,
        channel: w.channel,
        type: w.type,
        value: w.value,
        taskPath: w.task_path,
      })),
    }));
  }

  /** Runs read-only statements in one REPEATABLE READ snapshot, in one round trip. */
  private async snapshot(statements: string[]): Promise<pg.QueryResult[]> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw unavailable(err, "cannot get a connection");
    }
    let failed = false;
    const onError = () => (failed = true);
    client.on("error", onError);
    try {
      const out = await client.query(
        ["BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", ...statements, "COMMIT"].join(";\n"),
      );
      return (out as unknown as pg.QueryResult[]).slice(1, -1);
    } catch (err) {
      // A failed batch may leave the transaction open: never hand this connection to someone else.
      failed = true;
      throw storeError(err);
    } finally {
      client.removeListener("error", onError);
      client.release(failed);
    }
  }
}

function group<T>(rows: T[], key: (row: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const row of rows) {
    const k = key(row);
    const list = out.get(k);
    if (list) list.push(row);
    else out.set(k, [row]);
  }
  return out;
}
