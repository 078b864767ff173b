/**
 * Checkpoint rows for the SQLite backend: writes (`CheckpointTx`) on the file's one writer connection, inside a
 * commit's transaction; reads (`CheckpointReader`) on each backend's read connection. Each method's SQL sits next to
 * it and is prepared once.
 *
 * A put writes one row: the checkpoint, its metadata and the small channel values it wrote, packed into `payload`
 * (`blob_index` = {channel: [type, offset, length]}). So a typical put touches one table page and one index page
 * besides the core's head record and event. A value too big to pack goes to `checkpoint_blobs` (offset -1), so that a
 * descendant that inherits a small value never drags a big one along. Tables holding big values keep rowids: SQLite
 * reads a long value from a rowid table about twice as fast as from a WITHOUT ROWID one (measured).
 */
import type Database from "better-sqlite3";
import { LRUCache } from "lru-cache";
import {
  HEAD_CHECKPOINT_FIELD,
  type BlobAddress,
  type WriteKey,
  blobRefsFromStored,
  blobRefsText,
  type StoredBlobRefs,
  type CheckpointBlob,
  type CheckpointQuery,
  type CheckpointReader,
  type CheckpointRef,
  type CheckpointRow,
  type CheckpointTx,
  type CheckpointWrite,
  type LoadedCheckpoint,
} from "../../core/checkpoints.js";
import { InvalidInputError } from "../../core/errors.js";
import { compareWrites } from "../key-order.js";

/** The migration that adds checkpoint storage (SQLITE_MIGRATIONS[1]). */
export const CHECKPOINTS_MIGRATION = `
  CREATE TABLE checkpoints (
    thread_id TEXT NOT NULL,
    ns TEXT NOT NULL,
    checkpoint_id TEXT NOT NULL,
    parent_id TEXT,
    head_version INTEGER NOT NULL,
    type TEXT NOT NULL,
    payload BLOB NOT NULL,
    checkpoint_length INTEGER NOT NULL,
    metadata_length INTEGER NOT NULL,
    blob_refs TEXT NOT NULL,
    blob_index TEXT NOT NULL,
    UNIQUE (thread_id, ns, checkpoint_id)
  );
  CREATE TABLE checkpoint_blobs (
    thread_id TEXT NOT NULL,
    ns TEXT NOT NULL,
    checkpoint_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    type TEXT NOT NULL,
    value BLOB NOT NULL,
    UNIQUE (thread_id, ns, checkpoint_id, channel)
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

/** Values are packed into the checkpoint's row while they add up to this many bytes; the rest get their own rows. */
const PACK_LIMIT = 2048;

interface RowData {
  thread_id: string;
  ns: string;
  checkpoint_id: string;
  parent_id: string | null;
  head_version: number;
  type: string;
  payload: Buffer;
  checkpoint_length: number;
  metadata_length: number;
  blob_refs: string;
  blob_index: string;
  has_writes: 0 | 1;
}

/**
 * A probe: what a cached row needs besides its payload (is it still there, under the same head version?), joined with
 * each of its pending writes, so a cached read is one statement. A checkpoint without writes is one row whose write
 * columns are `null`; a missing checkpoint, no row.
 */
type ProbeRow = [
  checkpointId: string,
  headVersion: number,
  taskId: string | null,
  idx: number,
  channel: string,
  type: string,
  value: Buffer,
  taskPath: string,
];

interface WriteRow {
  task_id: string;
  idx: number;
  channel: string;
  type: string;
  value: Buffer;
  task_path: string;
}

/** A loaded checkpoint without its writes (they are the one part of a checkpoint that changes). */
type CachedCheckpoint = Omit<LoadedCheckpoint, "writes">;

/** Bytes of decoded checkpoints a read connection keeps; one bigger than a tenth of it is not kept. */
const CACHE_BYTES = 32 * 1024 * 1024;

/** Where each value a checkpoint wrote sits in its payload; offset -1: in `checkpoint_blobs`. */
type BlobIndex = Record<string, [type: string, offset: number, length: number]>;

const HAS_WRITES = `EXISTS (SELECT 1 FROM checkpoint_writes AS w
    WHERE w.thread_id = c.thread_id AND w.ns = c.ns AND w.checkpoint_id = c.checkpoint_id) AS has_writes`;
const COLUMNS = `c.thread_id, c.ns, c.checkpoint_id, c.parent_id, c.head_version, c.type, c.payload, c.checkpoint_length,
  c.metadata_length, c.blob_refs, c.blob_index, ${HAS_WRITES}`;
const WRITE_COLUMNS = "task_id, idx, channel, type, value, task_path";
/**
 * The probe (`ProbeRow`) of the checkpoints `where` selects (one at most), in key order: `fromProbe` puts the writes
 * in LangGraph's order (an ORDER BY here cost a temporary B-tree per read, ~3 µs, for the usual zero to two writes).
 * Read as arrays (`raw()`): naming eight columns per row cost ~0.8 µs of a 4.7 µs probe.
 */
const probe = (where: string) =>
  `SELECT c.checkpoint_id, c.head_version, w.task_id, w.idx, w.channel, w.type, w.value, w.task_path
     FROM checkpoints AS c LEFT JOIN checkpoint_writes AS w
       ON w.thread_id = c.thread_id AND w.ns = c.ns AND w.checkpoint_id = c.checkpoint_id
    WHERE ${where}`;

/**
 * Checkpoint-row writes on the writer connection (`SqliteWriter`): they run only inside a commit's transaction. The
 * statements are prepared once per writer.
 */
export function sqliteCheckpointTx(db: Database.Database): CheckpointTx {
  const s = {
    // Not inserted (no change) when the lineage has the id, or keeps values a deleted checkpoint of that id wrote
    // (`CheckpointTx.insertCheckpoint`): the last three parameters repeat the row's thread, namespace and id.
    insertRow: db.prepare(
      `INSERT INTO checkpoints (thread_id, ns, checkpoint_id, parent_id, head_version, type, payload, checkpoint_length,
         metadata_length, blob_refs, blob_index) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
         WHERE NOT EXISTS (SELECT 1 FROM checkpoint_blobs WHERE thread_id = ? AND ns = ? AND checkpoint_id = ?)
       ON CONFLICT DO NOTHING`,
    ),
    insertBlob: db.prepare(
      "INSERT INTO checkpoint_blobs (thread_id, ns, checkpoint_id, channel, type, value) VALUES (?, ?, ?, ?, ?, ?)",
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
    // A deleted checkpoint's packed values move to checkpoint_blobs: kept checkpoints may still refer to them.
    unpack: db.prepare(
      `INSERT INTO checkpoint_blobs (thread_id, ns, checkpoint_id, channel, type, value)
         SELECT c.thread_id, c.ns, c.checkpoint_id, j.key, j.value ->> 0, substr(c.payload, (j.value ->> 1) + 1, j.value ->> 2)
           FROM checkpoints AS c, json_each(c.blob_index) AS j
          WHERE c.thread_id = ? AND c.ns = ? AND c.checkpoint_id = ? AND (j.value ->> 1) >= 0
         ON CONFLICT DO NOTHING`,
    ),
    deleteRow: db.prepare("DELETE FROM checkpoints WHERE thread_id = ? AND ns = ? AND checkpoint_id = ?"),
    deleteRowWrites: db.prepare("DELETE FROM checkpoint_writes WHERE thread_id = ? AND ns = ? AND checkpoint_id = ?"),
    deleteBlob: db.prepare(
      "DELETE FROM checkpoint_blobs WHERE thread_id = ? AND ns = ? AND checkpoint_id = ? AND channel = ?",
    ),
    deleteWrite: db.prepare(
      "DELETE FROM checkpoint_writes WHERE thread_id = ? AND ns = ? AND checkpoint_id = ? AND task_id = ? AND idx = ?",
    ),
    setHeadVersion: db.prepare(
      "UPDATE checkpoints SET head_version = ? WHERE thread_id = ? AND ns = ? AND checkpoint_id = ?",
    ),
    deleteRows: db.prepare("DELETE FROM checkpoints WHERE thread_id = ?"),
    deleteBlobs: db.prepare("DELETE FROM checkpoint_blobs WHERE thread_id = ?"),
    deleteWrites: db.prepare("DELETE FROM checkpoint_writes WHERE thread_id = ?"),
  };
  return {
    insertCheckpoint: (r: CheckpointRow, blobs: CheckpointBlob[]) => {
      const index: BlobIndex = {};
      const packed: Uint8Array[] = [r.checkpoint, r.metadata];
      const separate: CheckpointBlob[] = [];
      let offset = r.checkpoint.byteLength + r.metadata.byteLength;
      let packedValues = 0;
      for (const b of blobs) {
        if (packedValues + b.value.byteLength <= PACK_LIMIT) {
          index[b.channel] = [b.type, offset, b.value.byteLength];
          packed.push(b.value);
          offset += b.value.byteLength;
          packedValues += b.value.byteLength;
        } else {
          index[b.channel] = [b.type, -1, b.value.byteLength];
          separate.push(b);
        }
      }
      const inserted =
        s.insertRow.run(
          r.threadId,
          r.ns,
          r.checkpointId,
          r.parentId,
          r.headVersion,
          r.type,
          Buffer.concat(packed, offset),
          r.checkpoint.byteLength,
          r.metadata.byteLength,
          blobRefsText(r.blobRefs),
          JSON.stringify(index),
          r.threadId,
          r.ns,
          r.checkpointId,
        ).changes === 1;
      if (inserted)
        for (const b of separate) s.insertBlob.run(r.threadId, r.ns, r.checkpointId, b.channel, b.type, b.value);
      return inserted;
    },
    putWrites: (ref: CheckpointRef, writes: CheckpointWrite[]) => {
      for (const w of writes) {
        (w.idx < 0 ? s.replaceWrite : s.insertWrite).run(
          ref.threadId,
          ref.ns,
          ref.checkpointId,
          w.taskId,
          w.idx,
          w.channel,
          w.type,
          w.value,
          w.taskPath,
        );
      }
    },
    deleteThread: (threadId: string) => {
      s.deleteRows.run(threadId);
      s.deleteBlobs.run(threadId);
      s.deleteWrites.run(threadId);
    },
    deleteCheckpoints: (refs: CheckpointRef[], blobs: BlobAddress[]) => {
      for (const r of refs) {
        s.unpack.run(r.threadId, r.ns, r.checkpointId);
        s.deleteRow.run(r.threadId, r.ns, r.checkpointId);
        s.deleteRowWrites.run(r.threadId, r.ns, r.checkpointId);
      }
      for (const b of blobs) s.deleteBlob.run(b.threadId, b.ns, b.checkpointId, b.channel);
    },
    deleteWrites: (ref: CheckpointRef, writes: WriteKey[]) => {
      for (const w of writes) s.deleteWrite.run(ref.threadId, ref.ns, ref.checkpointId, w.taskId, w.idx);
    },
    setHeadVersion: (ref: CheckpointRef, headVersion: number) => {
      s.setHeadVersion.run(headVersion, ref.threadId, ref.ns, ref.checkpointId);
    },
  };
}

/**
 * Checkpoint reads on a backend's read connection: the last committed state, never a group's uncommitted rows.
 * Statements are prepared once per connection.
 *
 * A checkpoint row never changes once written, and (checkpoint id, head version) names one row for all time (head
 * versions only grow, also across deleteThread), so its decoded form is cached, up to `CACHE_BYTES`. A read of a
 * cached row first asks the database whether the row still exists under that head version and has writes (a probe
 * that reads no payload), so a deleted row is never served from the cache; its writes, which do change, are always
 * read. A row that is not cached costs one statement, as without the cache.
 */
export class SqliteCheckpoints implements CheckpointReader {
  private readonly stmt;
  private readonly inherited = new BlobCache(8 * 1024 * 1024, 256 * 1024);
  private readonly decoded = new LRUCache<string, CachedCheckpoint>({
    maxSize: CACHE_BYTES,
    maxEntrySize: Math.floor(CACHE_BYTES / 10),
    sizeCalculation: (c) =>
      256 + c.checkpoint.byteLength + c.metadata.byteLength + c.blobs.reduce((n, b) => n + 64 + b.value.byteLength, 0),
  });
  /** The head each lineage had when last read here: a hint, checked against the head record by every read. */
  private readonly heads = new LRUCache<string, string>({ max: 10_000 });
  /** `list` statements by query shape (which filters are present), prepared on first use. */
  private readonly listStatements = new Map<string, Database.Statement<unknown[], RowData>>();

  constructor(
    /** The read connection. */
    private readonly db: Database.Database,
    /** Runs a read, mapping SQLite failures to `UNAVAILABLE`. */
    private readonly read: <T>(body: () => T) => T,
  ) {
    this.stmt = {
      row: db.prepare<[string, string, string], RowData>(
        `SELECT ${COLUMNS} FROM checkpoints AS c WHERE c.thread_id = ? AND c.ns = ? AND c.checkpoint_id = ?`,
      ),
      probe: db
        .prepare<[string, string, string], ProbeRow>(probe("c.thread_id = ? AND c.ns = ? AND c.checkpoint_id = ?"))
        .raw(),
      // The checkpoint a lineage's head record names (its value is {"checkpointId": …}), in the same read.
      headRow: db.prepare<[string, string, string], RowData>(
        `SELECT ${COLUMNS} FROM checkpoints AS c WHERE c.thread_id = ? AND c.ns = ?
            AND c.checkpoint_id = (SELECT value ->> '$.${HEAD_CHECKPOINT_FIELD}' FROM records WHERE key = ?)`,
      ),
      headProbe: db
        .prepare<[string, string, string], ProbeRow>(
          probe(`c.thread_id = ? AND c.ns = ?
          AND c.checkpoint_id = (SELECT value ->> '$.${HEAD_CHECKPOINT_FIELD}' FROM records WHERE key = ?)`),
        )
        .raw(),
      // One value another checkpoint wrote: its bytes cut out of that checkpoint's payload, or its own row. The
      // payload column is read only on the first branch.
      blob: db.prepare<[string, string, string, string], { type: string; value: Buffer }>(
        `SELECT j.value ->> 0 AS type,
                CASE WHEN (j.value ->> 1) >= 0 THEN substr(c.payload, (j.value ->> 1) + 1, j.value ->> 2)
                     ELSE (SELECT b.value FROM checkpoint_blobs AS b WHERE b.thread_id = c.thread_id AND b.ns = c.ns
                             AND b.checkpoint_id = c.checkpoint_id AND b.channel = j.key) END AS value
           FROM checkpoints AS c, json_each(c.blob_index) AS j
          WHERE c.thread_id = ? AND c.ns = ? AND c.checkpoint_id = ? AND j.key = ?`,
      ),
      // A value whose writer was deleted (prune, deleteForRuns) while a kept checkpoint still refers to it.
      orphanBlob: db.prepare<[string, string, string, string], { type: string; value: Buffer }>(
        "SELECT type, value FROM checkpoint_blobs WHERE thread_id = ? AND ns = ? AND checkpoint_id = ? AND channel = ?",
      ),
      // Byte order of UTF-8 text is code-point order: the writesSortKey order LangGraph replays writes in.
      writes: db.prepare<[string, string, string], WriteRow>(
        `SELECT ${WRITE_COLUMNS} FROM checkpoint_writes
          WHERE thread_id = ? AND ns = ? AND checkpoint_id = ? ORDER BY task_path, task_id, idx`,
      ),
      // The writes of several checkpoints of one lineage (a list page) in one read, refs given as a JSON array.
      writesOf: db.prepare<[string, string, string], WriteRow & { checkpoint_id: string }>(
        `SELECT checkpoint_id, ${WRITE_COLUMNS} FROM checkpoint_writes
          WHERE thread_id = ? AND ns = ? AND checkpoint_id IN (SELECT value FROM json_each(?))
          ORDER BY checkpoint_id, task_path, task_id, idx`,
      ),
    };
  }

  async getCheckpoint(ref: CheckpointRef): Promise<LoadedCheckpoint | undefined> {
    return this.read(() => {
      const cached = this.decoded.get(cacheKey(ref.threadId, ref.ns, ref.checkpointId));
      if (cached) return this.fromProbe(cached, this.stmt.probe.all(ref.threadId, ref.ns, ref.checkpointId));
      return this.readRow(ref);
    });
  }

  async getHeadCheckpoint(q: { threadId: string; ns: string; headKey: string }): Promise<LoadedCheckpoint | undefined> {
    return this.read(() => {
      const lineage = lineageKey(q.threadId, q.ns);
      const head = this.heads.get(lineage);
      const cached = head === undefined ? undefined : this.decoded.get(cacheKey(q.threadId, q.ns, head));
      if (cached) {
        const rows = this.stmt.headProbe.all(q.threadId, q.ns, q.headKey);
        if (rows.length === 0 || rows[0]![0] === cached.checkpointId) return this.fromProbe(cached, rows);
      }
      const row = this.stmt.headRow.get(q.threadId, q.ns, q.headKey);
      if (!row) return undefined;
      this.heads.set(lineage, row.checkpoint_id);
      return this.withWrites(this.cached(row), row);
    });
  }

  async listCheckpoints(q: CheckpointQuery): Promise<LoadedCheckpoint[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.threadId !== undefined) where.push("c.thread_id = ?"), args.push(q.threadId);
    if (q.ns !== undefined) where.push("c.ns = ?"), args.push(q.ns);
    if (q.beforeId !== undefined) where.push("c.checkpoint_id < ?"), args.push(q.beforeId);
    if (q.after !== undefined) {
      where.push("(c.checkpoint_id, c.thread_id, c.ns) < (?, ?, ?)");
      args.push(q.after.checkpointId, q.after.threadId, q.after.ns);
    }
    for (const [key, value] of Object.entries(q.metadata ?? {})) {
      if (key.includes('"')) {
        throw new InvalidInputError({
          issues: [{ path: ["filter", key], message: 'metadata filter keys may not contain "' }],
        });
      }
      where.push(
        `c.type = 'json' AND CAST(substr(c.payload, c.checkpoint_length + 1, c.metadata_length) AS TEXT) -> ? = json(?)`,
      );
      args.push(`$."${key}"`, JSON.stringify(value));
    }
    const sql = `SELECT ${COLUMNS} FROM checkpoints AS c ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
      ORDER BY c.checkpoint_id DESC, c.thread_id DESC, c.ns DESC LIMIT ?`;
    return this.read(() => {
      let stmt = this.listStatements.get(sql);
      if (!stmt) this.listStatements.set(sql, (stmt = this.db.prepare<unknown[], RowData>(sql)));
      const rows = stmt.all(...args, q.limit);
      const writes = this.writesOfPage(rows);
      return rows.map((row) => ({ ...this.cached(row), writes: writes.get(writesKey(row)) ?? [] }));
    });
  }

  /**
   * A cached checkpoint with the writes its probe read (`rows`, read just now), if the database still holds it under
   * the same head version; `undefined` once it is gone. Writes are always read: they are the one part that changes.
   */
  private fromProbe(cached: CachedCheckpoint, rows: ProbeRow[]): LoadedCheckpoint | undefined {
    const first = rows[0];
    if (first === undefined) return undefined;
    if (first[1] !== cached.headVersion) {
      // The thread was deleted and the id came back: the cached form is of a row that is gone.
      this.decoded.delete(cacheKey(cached.threadId, cached.ns, cached.checkpointId));
      return this.readRow(cached);
    }
    if (first[2] === null) return { ...cached, writes: [] };
    const writes = rows.map(
      ([, , taskId, idx, channel, type, value, taskPath]): CheckpointWrite => ({
        taskId: taskId!,
        idx,
        channel,
        type,
        value,
        taskPath,
      }),
    );
    if (writes.length > 1) writes.sort(compareWrites);
    return { ...cached, writes };
  }

  /** A freshly read row's decoded form (`cached(row)`) with its writes, read only when it has some. */
  private withWrites(cached: CachedCheckpoint, row: RowData): LoadedCheckpoint {
    const writes = row.has_writes
      ? this.stmt.writes.all(cached.threadId, cached.ns, cached.checkpointId).map(toWrite)
      : [];
    return { ...cached, writes };
  }

  /** A checkpoint read from its row (and cached). */
  private readRow(ref: CheckpointRef): LoadedCheckpoint | undefined {
    const row = this.stmt.row.get(ref.threadId, ref.ns, ref.checkpointId);
    return row && this.withWrites(this.cached(row), row);
  }

  /** A row's decoded form, from the cache or decoded now (and cached). */
  private cached(row: RowData): CachedCheckpoint {
    const key = cacheKey(row.thread_id, row.ns, row.checkpoint_id);
    let cached = this.decoded.get(key);
    if (!cached || cached.headVersion !== row.head_version) this.decoded.set(key, (cached = this.decode(row)));
    return cached;
  }

  /** The writes of every row of a list page that has some, by `writesKey`: one read per lineage on the page. */
  private writesOfPage(rows: RowData[]): Map<string, CheckpointWrite[]> {
    const byLineage = new Map<string, { threadId: string; ns: string; ids: string[] }>();
    for (const row of rows) {
      if (!row.has_writes) continue;
      const lineage = `${row.thread_id}\u0000${row.ns}`;
      let group = byLineage.get(lineage);
      if (!group) byLineage.set(lineage, (group = { threadId: row.thread_id, ns: row.ns, ids: [] }));
      group.ids.push(row.checkpoint_id);
    }
    const out = new Map<string, CheckpointWrite[]>();
    for (const { threadId, ns, ids } of byLineage.values()) {
      for (const w of this.stmt.writesOf.all(threadId, ns, JSON.stringify(ids))) {
        const key = writesKey({ thread_id: threadId, ns, checkpoint_id: w.checkpoint_id });
        let list = out.get(key);
        if (!list) out.set(key, (list = []));
        list.push(toWrite(w));
      }
    }
    return out;
  }

  /**
   * A checkpoint row with every value it refers to (its own, and its ancestors'). An ancestor's value is immutable
   * under its ref (checkpoint id and head version), so it is read once and then served from a cache.
   */
  private decode(row: RowData): CachedCheckpoint {
    const blobRefs = blobRefsFromStored(JSON.parse(row.blob_refs) as StoredBlobRefs);
    const own = JSON.parse(row.blob_index) as BlobIndex;
    const { payload } = row; // a buffer of its own per row (better-sqlite3 copies every blob it returns)
    const blobs: CheckpointBlob[] = [];
    for (const [channel, ref] of Object.entries(blobRefs)) {
      const packed = ref.checkpointId === row.checkpoint_id ? own[channel] : undefined;
      if (packed && packed[1] >= 0) {
        blobs.push({ channel, type: packed[0], value: payload.subarray(packed[1], packed[1] + packed[2]) });
        continue;
      }
      const key = `${row.thread_id}\u0000${row.ns}\u0000${ref.checkpointId}\u0000${ref.headVersion}\u0000${channel}`;
      let blob = this.inherited.get(key);
      if (blob === undefined) {
        const found =
          this.stmt.blob.get(row.thread_id, row.ns, ref.checkpointId, channel) ??
          this.stmt.orphanBlob.get(row.thread_id, row.ns, ref.checkpointId, channel);
        if (found) this.inherited.set(key, (blob = { channel, type: found.type, value: found.value }));
      }
      if (blob) blobs.push(blob);
    }
    return {
      threadId: row.thread_id,
      ns: row.ns,
      checkpointId: row.checkpoint_id,
      parentId: row.parent_id,
      headVersion: row.head_version,
      type: row.type,
      checkpoint: payload.subarray(0, row.checkpoint_length),
      metadata: payload.subarray(row.checkpoint_length, row.checkpoint_length + row.metadata_length),
      blobRefs,
      blobs,
    };
  }
}

function cacheKey(threadId: string, ns: string, checkpointId: string): string {
  return `${threadId}\u0000${ns}\u0000${checkpointId}`;
}

function lineageKey(threadId: string, ns: string): string {
  return `${threadId}\u0000${ns}`;
}

function writesKey(row: { thread_id: string; ns: string; checkpoint_id: string }): string {
  return `${row.thread_id}\u0000${row.ns}\u0000${row.checkpoint_id}`;
}

function toWrite(w: WriteRow): CheckpointWrite {
  return { taskId: w.task_id, idx: w.idx, channel: w.channel, type: w.type, value: w.value, taskPath: w.task_path };
}

/** Inherited values by ref, up to a byte budget; when full it starts over (values are immutable, so it only forgets). */
class BlobCache {
  private readonly entries = new Map<string, CheckpointBlob>();
  private bytes = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly maxEntryBytes: number,
  ) {}

  get(key: string): CheckpointBlob | undefined {
    return this.entries.get(key);
  }

  set(key: string, blob: CheckpointBlob): void {
    if (blob.value.byteLength > this.maxEntryBytes) return;
    if (this.bytes + blob.value.byteLength > this.maxBytes) this.clear();
    // A copy: the cache must not pin a whole row buffer that a value may be a view of.
    this.entries.set(key, { ...blob, value: Buffer.from(blob.value) });
    this.bytes += blob.value.byteLength;
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }
}
