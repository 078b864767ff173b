/**
 * Checkpoint rows for the SQLite backend (`CheckpointTx`, `CheckpointReader`). Each method's SQL sits next to it and
 * is prepared once. Writes run only inside `SqliteBackend.transact`, i.e. inside a commit's transaction.
 *
 * A checkpoint and the channel values it wrote share one clustered table, keyed so that they sit next to each other:
 * a put touches one leaf page of it (plus the core's head record and event), which is what keeps puts cheap.
 */
import type Database from "better-sqlite3";
import type {
  CheckpointBlob,
  CheckpointQuery,
  CheckpointReader,
  CheckpointRef,
  CheckpointRow,
  CheckpointTx,
  CheckpointWrite,
  LoadedCheckpoint,
} from "../core/backend.js";
import { InvalidInputError } from "../core/errors.js";

/**
 * The migration that adds checkpoint storage (SQLITE_MIGRATIONS[1]). One row per checkpoint holds everything its put
 * wrote, the channel values packed into `blobs` with `blob_index` = {channel: [type, offset, length]}: a put inserts
 * one row (one table page and one index page), and a descendant reads an inherited value with one lookup.
 */
export const CHECKPOINTS_MIGRATION = `
  CREATE TABLE checkpoints (
    thread_id TEXT NOT NULL,
    ns TEXT NOT NULL,
    checkpoint_id TEXT NOT NULL,
    parent_id TEXT,
    head_version INTEGER NOT NULL,
    type TEXT NOT NULL,
    checkpoint BLOB NOT NULL,
    metadata BLOB NOT NULL,
    blob_refs TEXT NOT NULL,
    blobs BLOB NOT NULL,
    blob_index TEXT NOT NULL,
    UNIQUE (thread_id, ns, checkpoint_id)
  );
  CREATE TABLE checkpoint_writes (
    thread_id TEXT NOT NULL,
    ns TEXT NOT NULL,
    checkpoint_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    channel TEXT NOT NULL,
    type TEXT NOT NULL,
    value BLOB NOT NULL,
    task_path TEXT NOT NULL,
    PRIMARY KEY (thread_id, ns, checkpoint_id, task_id, idx)
  ) WITHOUT ROWID;`;

interface RowData {
  thread_id: string;
  ns: string;
  checkpoint_id: string;
  parent_id: string | null;
  head_version: number;
  type: string;
  checkpoint: Buffer;
  metadata: Buffer;
  blob_refs: string;
  blobs: Buffer;
  blob_index: string;
}

const ROW_COLUMNS =
  "thread_id, ns, checkpoint_id, parent_id, head_version, type, checkpoint, metadata, blob_refs, blobs, blob_index";

/** Where each value a checkpoint wrote sits in its packed `blobs`. */
type BlobIndex = Record<string, [type: string, offset: number, length: number]>;

export class SqliteCheckpoints implements CheckpointReader {
  readonly tx: CheckpointTx;
  private readonly stmt;
  /** `list` statements by query shape (which filters are present), prepared on first use. */
  private readonly listStatements = new Map<string, Database.Statement<unknown[], RowData>>();

  constructor(
    private readonly db: Database.Database,
    /** Runs a read, mapping SQLite failures to `UNAVAILABLE`. */
    private readonly read: <T>(body: () => T) => T,
  ) {
    this.stmt = {
      insertRow: db.prepare(
        `INSERT INTO checkpoints (${ROW_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      ),
      // Regular writes (idx >= 0) are first-wins; special writes (idx < 0: error, interrupt, resume…) replace.
      insertWrite: db.prepare(
        `INSERT INTO checkpoint_writes (thread_id, ns, checkpoint_id, task_id, idx, channel, type, value, task_path)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      ),
      replaceWrite: db.prepare(
        `INSERT INTO checkpoint_writes (thread_id, ns, checkpoint_id, task_id, idx, channel, type, value, task_path)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT DO UPDATE SET channel = excluded.channel, type = excluded.type, value = excluded.value,
             task_path = excluded.task_path`,
      ),
      deleteRows: db.prepare("DELETE FROM checkpoints WHERE thread_id = ?"),
      deleteWrites: db.prepare("DELETE FROM checkpoint_writes WHERE thread_id = ?"),
      row: db.prepare<[string, string, string], RowData>(
        `SELECT ${ROW_COLUMNS} FROM checkpoints WHERE thread_id = ? AND ns = ? AND checkpoint_id = ?`,
      ),
      // The checkpoint a lineage's head record names (its value is {"checkpointId": …}), in the same read.
      headRow: db.prepare<[string, string, string], RowData>(
        `SELECT ${ROW_COLUMNS} FROM checkpoints WHERE thread_id = ? AND ns = ?
            AND checkpoint_id = (SELECT value ->> '$.checkpointId' FROM records WHERE key = ?)`,
      ),
      // One value an ancestor wrote: just its bytes, cut out of the ancestor's packed blobs.
      inherited: db.prepare<[string, string, string, string], { type: string; value: Buffer }>(
        `SELECT j.value ->> 0 AS type, substr(c.blobs, (j.value ->> 1) + 1, j.value ->> 2) AS value
           FROM checkpoints AS c, json_each(c.blob_index) AS j
          WHERE c.thread_id = ? AND c.ns = ? AND c.checkpoint_id = ? AND j.key = ?`,
      ),
      // Byte order of UTF-8 text is code-point order: the writesSortKey order LangGraph replays writes in.
      writes: db.prepare<[string, string, string], { task_id: string; idx: number; channel: string; type: string; value: Buffer; task_path: string }>(
        `SELECT task_id, idx, channel, type, value, task_path FROM checkpoint_writes
          WHERE thread_id = ? AND ns = ? AND checkpoint_id = ? ORDER BY task_path, task_id, idx`,
      ),
    };
    const s = this.stmt;
    this.tx = {
      insertCheckpoint: (r: CheckpointRow, blobs: CheckpointBlob[]) => {
        const index: BlobIndex = {};
        let offset = 0;
        for (const b of blobs) {
          index[b.channel] = [b.type, offset, b.value.byteLength];
          offset += b.value.byteLength;
        }
        const packed = Buffer.concat(blobs.map((b) => b.value), offset);
        return s.insertRow.run(
          r.threadId, r.ns, r.checkpointId, r.parentId, r.headVersion, r.type, r.checkpoint, r.metadata,
          JSON.stringify(r.blobRefs), packed, JSON.stringify(index),
        ).changes === 1;
      },
      putWrites: (ref: CheckpointRef, writes: CheckpointWrite[]) => {
        for (const w of writes) {
          (w.idx < 0 ? s.replaceWrite : s.insertWrite).run(
            ref.threadId, ref.ns, ref.checkpointId, w.taskId, w.idx, w.channel, w.type, w.value, w.taskPath,
          );
        }
      },
      deleteThread: (threadId: string) => {
        s.deleteRows.run(threadId);
        s.deleteWrites.run(threadId);
      },
    };
  }

  async getCheckpoint(ref: CheckpointRef): Promise<LoadedCheckpoint | undefined> {
    return this.read(() => {
      const row = this.stmt.row.get(ref.threadId, ref.ns, ref.checkpointId);
      return row && this.load(row);
    });
  }

  async getHeadCheckpoint(q: { threadId: string; ns: string; headKey: string }): Promise<LoadedCheckpoint | undefined> {
    return this.read(() => {
      const row = this.stmt.headRow.get(q.threadId, q.ns, q.headKey);
      return row && this.load(row);
    });
  }

  async listCheckpoints(q: CheckpointQuery): Promise<LoadedCheckpoint[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.threadId !== undefined) (where.push("thread_id = ?"), args.push(q.threadId));
    if (q.ns !== undefined) (where.push("ns = ?"), args.push(q.ns));
    if (q.beforeId !== undefined) (where.push("checkpoint_id < ?"), args.push(q.beforeId));
    if (q.after !== undefined) {
      where.push("(checkpoint_id, thread_id, ns) < (?, ?, ?)");
      args.push(q.after.checkpointId, q.after.threadId, q.after.ns);
    }
    for (const [key, value] of Object.entries(q.metadata ?? {})) {
      if (key.includes('"')) {
        throw new InvalidInputError({ issues: [{ path: ["filter", key], message: 'metadata filter keys may not contain "' }] });
      }
      where.push(`type = 'json' AND CAST(metadata AS TEXT) -> ? = json(?)`);
      args.push(`$."${key}"`, JSON.stringify(value));
    }
    const sql = `SELECT ${ROW_COLUMNS} FROM checkpoints ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
      ORDER BY checkpoint_id DESC, thread_id DESC, ns DESC LIMIT ?`;
    return this.read(() => {
      let stmt = this.listStatements.get(sql);
      if (!stmt) this.listStatements.set(sql, (stmt = this.db.prepare<unknown[], RowData>(sql)));
      return stmt.all(...args, q.limit).map((row) => this.load(row));
    });
  }

  /** A checkpoint row with every value it refers to (its own, and its ancestors') and its writes. */
  private load(row: RowData): LoadedCheckpoint {
    const blobRefs = JSON.parse(row.blob_refs) as Record<string, string>;
    const own = JSON.parse(row.blob_index) as BlobIndex;
    const blobs: CheckpointBlob[] = [];
    for (const [channel, writer] of Object.entries(blobRefs)) {
      if (writer === row.checkpoint_id) {
        const [type, offset, length] = own[channel]!;
        blobs.push({ channel, type, value: row.blobs.subarray(offset, offset + length) });
      } else {
        const blob = this.stmt.inherited.get(row.thread_id, row.ns, writer, channel);
        if (blob) blobs.push({ channel, type: blob.type, value: blob.value });
      }
    }
    const writes = this.stmt.writes.all(row.thread_id, row.ns, row.checkpoint_id).map((w) => ({
      taskId: w.task_id,
      idx: w.idx,
      channel: w.channel,
      type: w.type,
      value: w.value,
      taskPath: w.task_path,
    }));
    return {
      threadId: row.thread_id,
      ns: row.ns,
      checkpointId: row.checkpoint_id,
      parentId: row.parent_id,
      headVersion: row.head_version,
      type: row.type,
      checkpoint: row.checkpoint,
      metadata: row.metadata,
      blobRefs,
      blobs,
      writes,
    };
  }
}
