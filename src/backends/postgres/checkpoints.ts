/**
 * Checkpoint rows for the Postgres backend (`CheckpointTx`, `CheckpointReader`): the LangGraph saver's storage. A
 * checkpoint is one row; each value it wrote is a row of `checkpoint_blobs`; writes are rows of `checkpoint_writes`.
 * Large values need no packing here: PostgreSQL moves them out of line (TOAST) by itself.
 *
 * Writes ride in the transaction's batch (tx.ts), so a put costs one more round trip than a plain commit (its row
 * insert answers whether the id was new; its values follow with the COMMIT, only when it was) and putWrites none. A read is one statement, so one snapshot and one round trip:
 * the rows, each with the values it refers to and its writes aggregated into arrays; the fixed ones are prepared once
 * per connection.
 */
import type pg from "pg";
import {
  HEAD_CHECKPOINT_FIELD,
  blobRefsFromStored,
  blobRefsText,
  type StoredBlobRefs,
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
import { storeError } from "./errors.js";
import { array, bytes, int, prepared, text, textParam } from "./sql.js";

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
  const insertRow = `INSERT INTO ${s}.checkpoints (thread_id, ns, checkpoint_id, parent_id, head_version, type, checkpoint,
      metadata, blob_refs) SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9`;
  // An id is taken while values a deleted checkpoint of that id wrote are kept for later ones (`CheckpointTx`).
  const kept = `EXISTS (SELECT 1 FROM ${s}.checkpoint_blobs WHERE thread_id = $1 AND ns = $2 AND checkpoint_id = $3)`;
  const rowParams = ["text", "text", "text", "text", "bigint", "text", "bytea", "bytea", "jsonb"];
  // The row twice when its id is kept: the second copy then fails the statement exactly as a stored id does (a unique
  // violation on `checkpoints`), so the batch needs no answer and no statement of its own for the check.
  const insert = prepared(
    "insert_checkpoint",
    rowParams,
    `${insertRow} FROM generate_series(1, CASE WHEN ${kept} THEN 2 ELSE 1 END)`,
  );
  const insertNew = prepared(
    "insert_new_checkpoint",
    rowParams,
    `${insertRow} WHERE NOT ${kept} ON CONFLICT DO NOTHING RETURNING 1`,
  );
  // Any number of writes in one prepared statement: each column travels as an array and `unnest` zips them into rows.
  const putWrites = prepared(
    "put_writes",
    ["text", "text", "text", "text[]", "int[]", "text[]", "text[]", "bytea[]", "text[]"],
    `INSERT INTO ${s}.checkpoint_writes (thread_id, ns, checkpoint_id, task_id, idx, channel, type, value, task_path)
       SELECT $1, $2, $3, w.task_id, w.idx, w.channel, w.type, w.value, w.task_path
         FROM unnest($4, $5, $6, $7, $8, $9) AS w(task_id, idx, channel, type, value, task_path)
       ON CONFLICT (thread_id, ns, checkpoint_id, task_id, idx) DO UPDATE SET channel = excluded.channel,
         type = excluded.type, value = excluded.value, task_path = excluded.task_path WHERE excluded.idx < 0`,
  );
  return {
    /** The statements below that run as `EXECUTE` (sql.ts, `Prepared`). */
    prepared: [insert.statement, insertNew.statement, putWrites.statement],
    /**
     * Inserts the row unless its id is taken (`CheckpointTx.insertCheckpoint`); answers one row when it was new, none
     * otherwise. With `existing: "fail"`, a taken id fails the statement instead (a unique violation on `checkpoints`).
     */
    insert: (r: CheckpointRow, options?: { existing?: "fail" }) => {
      return (options?.existing === "fail" ? insert : insertNew).run(
        text(r.threadId),
        text(r.ns),
        text(r.checkpointId),
        text(r.parentId),
        int(r.headVersion),
        text(r.type),
        bytes(r.checkpoint),
        bytes(r.metadata),
        text(blobRefsText(r.blobRefs)),
      );
    },
    /** The values a new checkpoint wrote (sent only after `insert` answered that it was new). */
    insertBlobs: (ref: CheckpointRef, blobs: CheckpointBlob[]) =>
      `INSERT INTO ${s}.checkpoint_blobs (thread_id, ns, checkpoint_id, channel, type, value) VALUES ${blobs
        .map(
          (b) =>
            `(${text(ref.threadId)}, ${text(ref.ns)}, ${text(ref.checkpointId)}, ${text(b.channel)}, ${text(b.type)}, ${bytes(b.value)})`,
        )
        .join(", ")}`,
    /** Regular writes (idx >= 0) are first-wins; special writes (idx < 0: error, interrupt, resume…) replace. */
    putWrites: (ref: CheckpointRef, writes: CheckpointWrite[]) => {
      // One statement may not touch a row twice: settle repeats within the batch first, by the same rule.
      const settled = new Map<string, CheckpointWrite>();
      for (const w of writes) {
        const k = `${w.taskId}\u0000${w.idx}`;
        if (w.idx < 0 || !settled.has(k)) settled.set(k, w);
      }
      const rows = [...settled.values()];
      return putWrites.run(
        text(ref.threadId),
        text(ref.ns),
        text(ref.checkpointId),
        array(rows.map((w) => text(w.taskId))),
        array(rows.map((w) => int(w.idx))),
        array(rows.map((w) => text(w.channel))),
        array(rows.map((w) => text(w.type))),
        array(rows.map((w) => bytes(w.value))),
        array(rows.map((w) => text(w.taskPath))),
      );
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

/** A row of `loadSql`: the checkpoint, its values and its writes (NULL when there are none). */
interface LoadedRow {
  thread_id: string;
  ns: string;
  checkpoint_id: string;
  parent_id: string | null;
  head_version: string;
  type: string;
  checkpoint: Buffer;
  metadata: Buffer;
  blob_refs: StoredBlobRefs;
  /** [channel, type, value in base64] each. */
  blobs: [string, string, string][] | null;
  /** [taskId, idx, channel, type, value in base64, taskPath] each, in (taskPath, taskId, idx) order. */
  writes: [string, number, string, string, string, string][] | null;
}

/** Newest first, as `CheckpointQuery` lists, on the rows named `alias`. */
const newestFirst = (alias: string) =>
  `ORDER BY ${alias}.checkpoint_id DESC, ${alias}.thread_id DESC, ${alias}.ns DESC`;

/**
 * One statement that reads the rows `picked` selects (a query over `s.checkpoints AS c`), each with every value it
 * refers to (its own and its ancestors') and its writes in (taskPath, taskId, idx) order. One statement is one
 * snapshot of committed state, so no transaction is needed, and one round trip.
 */
function loadSql(s: string, picked: string, ordered: boolean): string {
  // Values travel as base64 inside JSON: parsed natively on this side, where a bytea[] is parsed character by character.
  // Each ref is looked up by its key (a LATERAL with LIMIT 1, which the planner cannot flatten into a join): as a plain
  // join the planner hashed every blob of the thread for each row read, so a read grew with the thread's length
  // (a list of 10 at 600 checkpoints: 6.7 ms, 0.4 ms with the lookups; test/backends/postgres-read-plans.test.ts).
  return `SELECT p.*, b.blobs, w.writes
    FROM (${picked}) AS p
    LEFT JOIN LATERAL (
      SELECT json_agg(json_build_array(ref.key, x.type, encode(x.value, 'base64'))) AS blobs
        FROM jsonb_each(p.blob_refs) AS ref
        CROSS JOIN LATERAL (
          SELECT v.type, v.value FROM ${s}.checkpoint_blobs AS v
           WHERE v.thread_id = p.thread_id AND v.ns = p.ns AND v.checkpoint_id = ref.value ->> 0 AND v.channel = ref.key
           LIMIT 1) AS x) AS b ON true
    LEFT JOIN LATERAL (
      SELECT json_agg(json_build_array(y.task_id, y.idx, y.channel, y.type, encode(y.value, 'base64'), y.task_path)
                      ORDER BY y.task_path, y.task_id, y.idx) AS writes
        FROM ${s}.checkpoint_writes AS y
       WHERE y.thread_id = p.thread_id AND y.ns = p.ns AND y.checkpoint_id = p.checkpoint_id) AS w ON true
    ${ordered ? newestFirst("p") : ""}`;
}

/** The read statements on the quoted schema `s`; the fixed ones are named, so each connection plans them once. */
function readSql(s: string) {
  const columns =
    "c.thread_id, c.ns, c.checkpoint_id, c.parent_id, c.head_version, c.type, c.checkpoint, c.metadata, c.blob_refs";
  return {
    byId: {
      name: "fenced_checkpoint_by_id",
      text: loadSql(
        s,
        `SELECT ${columns} FROM ${s}.checkpoints AS c WHERE c.thread_id = $1 AND c.ns = $2 AND c.checkpoint_id = $3`,
        false,
      ),
    },
    // The head record's value is {"checkpointId": …}; read in the same statement, so in the same snapshot, as the rows.
    head: {
      name: "fenced_checkpoint_head",
      text: loadSql(
        s,
        `SELECT ${columns} FROM ${s}.checkpoints AS c WHERE c.thread_id = $1 AND c.ns = $2
            AND c.checkpoint_id = (SELECT r.value::json ->> '${HEAD_CHECKPOINT_FIELD}' FROM ${s}.records AS r WHERE r.key = $3)`,
        false,
      ),
    },
    /** A page; `where` uses parameters from `$2` on (`$1` is the limit). */
    list: (where: string[]) =>
      loadSql(
        s,
        `SELECT ${columns} FROM ${s}.checkpoints AS c ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
          ${newestFirst("c")} LIMIT $1`,
        true,
      ),
  };
}

export class PostgresCheckpoints implements CheckpointReader {
  private readonly sql: ReturnType<typeof readSql>;

  constructor(
    private readonly pool: pg.Pool,
    /** The quoted schema. */
    s: string,
  ) {
    this.sql = readSql(s);
  }

  async getCheckpoint(ref: CheckpointRef): Promise<LoadedCheckpoint | undefined> {
    return (await this.load(this.sql.byId, [ref.threadId, ref.ns, ref.checkpointId].map(textParam)))[0];
  }

  async getHeadCheckpoint(q: { threadId: string; ns: string; headKey: string }): Promise<LoadedCheckpoint | undefined> {
    return (await this.load(this.sql.head, [q.threadId, q.ns, q.headKey].map(textParam)))[0];
  }

  async listCheckpoints(q: CheckpointQuery): Promise<LoadedCheckpoint[]> {
    const values: unknown[] = [q.limit];
    const param = (value: string) => `$${values.push(textParam(value))}`;
    const where: string[] = [];
    // The statement's shape (which filters it has) names it, unless a metadata filter makes it one of a kind.
    const shape: string[] = [];
    if (q.threadId !== undefined) {
      where.push(`c.thread_id = ${param(q.threadId)}`);
      shape.push("t");
    }
    if (q.ns !== undefined) {
      where.push(`c.ns = ${param(q.ns)}`);
      shape.push("n");
    }
    if (q.beforeId !== undefined) {
      where.push(`c.checkpoint_id < ${param(q.beforeId)}`);
      shape.push("b");
    }
    if (q.after !== undefined) {
      where.push(
        `(c.checkpoint_id, c.thread_id, c.ns) < (${param(q.after.checkpointId)}, ${param(q.after.threadId)}, ${param(q.after.ns)})`,
      );
      shape.push("a");
    }
    const filters = Object.entries(q.metadata ?? {});
    for (const [key, value] of filters) {
      if (key.includes('"')) {
        throw new InvalidInputError({
          issues: [{ path: ["filter", key], message: 'metadata filter keys may not contain "' }],
        });
      }
      // The value's JSON text as stored (json, unlike jsonb, keeps it) against the filter's minified text.
      where.push(
        `CASE WHEN c.type = 'json' THEN (convert_from(c.metadata, 'UTF8')::json -> ${param(key)}::text)::text = ${param(JSON.stringify(value))}
              ELSE false END`,
      );
    }
    const text = this.sql.list(where);
    return this.load(filters.length === 0 ? { name: `fenced_checkpoints_${shape.join("")}`, text } : { text }, values);
  }

  private async load(statement: { name?: string; text: string }, values: unknown[]): Promise<LoadedCheckpoint[]> {
    let rows: LoadedRow[];
    try {
      rows = (await this.pool.query<LoadedRow>({ ...statement, values })).rows;
    } catch (err) {
      throw storeError(err);
    }
    return rows.map(toLoaded);
  }
}

function toLoaded(row: LoadedRow): LoadedCheckpoint {
  return {
    threadId: row.thread_id,
    ns: row.ns,
    checkpointId: row.checkpoint_id,
    parentId: row.parent_id,
    headVersion: Number(row.head_version),
    type: row.type,
    checkpoint: row.checkpoint,
    metadata: row.metadata,
    blobRefs: blobRefsFromStored(row.blob_refs),
    blobs: (row.blobs ?? []).map(([channel, type, value]) => ({ channel, type, value: Buffer.from(value, "base64") })),
    writes: (row.writes ?? []).map(([taskId, idx, channel, type, value, taskPath]) => ({
      taskId,
      idx,
      channel,
      type,
      value: Buffer.from(value, "base64"),
      taskPath,
    })),
  };
}
