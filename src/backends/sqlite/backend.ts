/**
 * The SQLite backend (the embedded default): better-sqlite3, WAL, `BEGIN IMMEDIATE`. Several OS processes on one file
 * are safe: `BEGIN IMMEDIATE` takes the file's write lock before the first read, so the reads `commit` decides on
 * cannot go stale before its writes land. Within a process, every backend on a file shares that file's one writer
 * (sqlite-writer.ts): transactions take turns on its connection, and those that wait while another runs are committed
 * together (group commit, see group-commit.ts).
 *
 * Reads outside a transaction never touch the writer: each backend reads on a connection of its own, which in WAL
 * mode sees the last committed state. A group keeps its transaction open across awaits, and what it wrote may still
 * roll back (a member's savepoint, a failed COMMIT); a read on the writer would see it (G1: docs/design.md, "Read
 * isolation").
 *
 * A snapshot (`snapshot`) is a read transaction, which WAL pins to the state committed when it first reads. It runs on
 * a connection of its own, never on the reader: the reader must not join a snapshot's transaction while it is open
 * across awaits, or a read issued right after a commit would be answered from before it. Snapshot connections are
 * opened on first use and kept for the next snapshot (a few at most), so concurrent snapshots never wait for each other.
 */
import type Database from "better-sqlite3";
import type { Backend, BackendTx, ListQuery, SnapshotReader, StoredClaim, StoredRecord } from "../../core/backend.js";
import type { CheckpointReader } from "../../core/checkpoints.js";
import { CloseGate, gatedReader } from "../../core/close-gate.js";
import { InvalidInputError } from "../../core/errors.js";
import type { Outcome, StateEvent } from "../../core/schemas.js";
import { prefixEnd } from "../key-order.js";
import { Listeners } from "../serial.js";
import { SqliteCheckpoints } from "./checkpoints.js";
import {
  DEFAULT_BUSY_TIMEOUT_MS,
  LAST_SEQ,
  databaseFile,
  openReaderConnection,
  unavailable,
  whileBusy,
} from "./connection.js";
import { SqliteWriter } from "./writer.js";

export { SQLITE_MIGRATIONS, WAL_AUTOCHECKPOINT_PAGES } from "./connection.js";

export interface SqliteBackendOptions {
  /** Database file, created if missing. Every store on one file in a process shares one writer connection. */
  path: string;
  /**
   * `"normal"` (default): WAL + synchronous=NORMAL, like the official SqliteSaver — survives any process crash.
   * `"full"`: synchronous=FULL, an fsync on every commit — also survives power loss. Stores sharing a file in one
   * process share its writer: if any of them asks for `"full"`, all of them get it.
   */
  durability?: "normal" | "full";
  /** How long to wait for another process's write lock before `UNAVAILABLE`. Default 5,000 ms. */
  busyTimeoutMs?: number;
  /**
   * When a group commit starts. `"immediate"` (default): at once, so a lone commit lands as soon as it would without
   * grouping. `"per-turn"`: at the end of the current event-loop turn, so that commits arriving in separate callbacks
   * of one turn (a server's requests) share one COMMIT; `fenced serve` uses it. See docs/sqlite.md, "Group commit".
   */
  groupCommit?: "immediate" | "per-turn";
}

interface RecordRow {
  key: string;
  value: string | null;
  version: number;
  epoch: number;
  updated_at: number;
}

interface EventRow {
  seq: number;
  ts: number;
  key: string;
  version: number;
  epoch: number;
  owner: string | null;
  op_id: string | null;
  outcome: Outcome;
}

export class SqliteBackend implements Backend {
  readonly kind = "sqlite";
  readonly checkpoints: CheckpointReader;
  private readonly writer: SqliteWriter;
  /** This backend's read connection: committed state only. */
  private readonly reader: Database.Database;
  private readonly busyTimeoutMs: number;
  private readonly gather: boolean;
  private readonly listeners = new Listeners();
  private readonly unsubscribe: () => void;
  private readonly gate = new CloseGate();
  private readonly stmt: ReadStatements;
  private readonly file: string;
  /** Idle snapshot connections (see `snapshot`), each with its statements; one per snapshot in flight is taken out. */
  private readonly idleSnapshots: SnapshotConnection[] = [];

  /** Opens (or joins, when this process already has it open) `options.path`. Throws `INVALID_INPUT` for a bad path. */
  constructor(options: SqliteBackendOptions) {
    oneOf(options.durability, "durability", ["normal", "full"]);
    oneOf(options.groupCommit, "groupCommit", ["immediate", "per-turn"]);
    const file = databaseFile(options.path);
    this.file = file;
    this.busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
    this.gather = options.groupCommit === "per-turn";
    this.writer = SqliteWriter.acquire(file, {
      durability: options.durability ?? "normal",
      busyTimeoutMs: this.busyTimeoutMs,
    });
    try {
      this.reader = openReaderConnection(file);
    } catch (err) {
      void this.writer.release();
      throw err;
    }
    const db = this.reader;
    this.stmt = readStatements(db);
    this.checkpoints = gatedReader(new SqliteCheckpoints(db, (body) => this.read(body)), this.gate);
    this.unsubscribe = this.writer.subscribe(() => this.listeners.notify());
  }

  /** @internal The shared write connection, for fault-injection tests; see the rules in sqlite-writer.ts. */
  get db(): Database.Database {
    return this.writer.db;
  }

  transact<T>(fn: (tx: BackendTx) => Promise<T>): Promise<T> {
    return this.gate.run(() => this.writer.transact(fn, { gather: this.gather }));
  }

  getRecord(key: string): Promise<StoredRecord | undefined> {
    return this.gate.run(async () => {
      const row = this.read(() => this.stmt.getRecord.get(key));
      return row && toRecord(row);
    });
  }

  getClaim(key: string): Promise<StoredClaim | undefined> {
    return this.gate.run(async () => {
      const row = this.read(() => this.stmt.getClaim.get(key));
      return row && { key, owner: row.owner, epoch: row.epoch, expiresAt: row.expires_at };
    });
  }

  listRecords(q: ListQuery): Promise<StoredRecord[]> {
    return this.gate.run(async () => this.read(() => listOn(this.stmt, q)));
  }

  /**
   * Runs `fn` in a read transaction on a snapshot connection of its own. Writers are not blocked: WAL keeps the pinned
   * state readable, and a checkpoint only waits to reset the WAL until the snapshot ends.
   */
  snapshot<T>(fn: (r: SnapshotReader) => Promise<T>): Promise<T> {
    return this.gate.run(async () => {
      const connection = this.idleSnapshots.pop() ?? this.openSnapshotConnection();
      const { db, stmt } = connection;
      try {
        db.exec("BEGIN");
        // A deferred transaction takes its snapshot at its first read: take it here, with the seq it reflects.
        const seq = this.read(() => stmt.lastSeq.get()!.seq);
        return await fn({
          getRecords: (keys) =>
            this.read(() =>
              keys.map((key) => {
                const row = stmt.getRecord.get(key);
                return row && toRecord(row);
              }),
            ),
          listRecords: (q) => this.read(() => listOn(stmt, q)),
          lastSeq: () => seq,
        });
      } finally {
        if (db.inTransaction) db.exec("COMMIT");
        if (this.idleSnapshots.length < MAX_IDLE_SNAPSHOT_CONNECTIONS) this.idleSnapshots.push(connection);
        else db.close();
      }
    });
  }

  readEvents(q: { prefix: string; afterSeq: number; limit: number }): Promise<StateEvent[]> {
    return this.gate.run(async () =>
      this.read(() =>
        this.stmt.events.all({ afterSeq: q.afterSeq, start: q.prefix, end: prefixEnd(q.prefix), limit: q.limit }),
      ).map((r) => ({
        seq: r.seq,
        ts: r.ts,
        key: r.key,
        version: r.version,
        epoch: r.epoch,
        outcome: r.outcome,
        ...(r.owner !== null && { owner: r.owner }),
        ...(r.op_id !== null && { opId: r.op_id }),
      })),
    );
  }

  lastSeq(): Promise<number> {
    return this.gate.run(async () => this.read(() => this.stmt.lastSeq.get()!.seq));
  }

  /** `listener` runs after the commits of every store on this file in this process (other processes: polling). */
  subscribe(listener: () => void): () => void {
    return this.listeners.add(listener);
  }

  purge(q: { idempotencyBefore: number; maxEvents: number }): Promise<void> {
    return this.gate.run(() => this.writer.purge(q));
  }

  /**
   * Waits for every call issued before it, then closes this backend's read connection and leaves the file's writer
   * (closed with the last store on the file). Later calls get `CLOSED`.
   */
  close(): Promise<void> {
    return this.gate.close(async () => {
      this.unsubscribe();
      this.reader.close();
      for (const { db } of this.idleSnapshots.splice(0)) db.close();
      await this.writer.release();
    });
  }

  private openSnapshotConnection(): SnapshotConnection {
    const db = openReaderConnection(this.file);
    return { db, stmt: readStatements(db) };
  }

  /** Runs a read, waiting out a busy database for up to `busyTimeoutMs`; failures become `UNAVAILABLE`. */
  private read<T>(body: () => T): T {
    try {
      return whileBusy(body, this.busyTimeoutMs);
    } catch (err) {
      throw unavailable(err);
    }
  }
}

/** Throws `INVALID_INPUT` unless the option `name` is absent or one of `allowed`. */
function oneOf(value: unknown, name: string, allowed: readonly string[]): void {
  if (value !== undefined && !allowed.includes(value as string)) {
    throw new InvalidInputError({
      issues: [{ path: [name], message: `must be ${allowed.map((a) => `"${a}"`).join(" or ")}` }],
    });
  }
}

/** The statements a read connection runs, prepared once per connection. */
function readStatements(db: Database.Database) {
  return {
    getRecord: db.prepare<[string], RecordRow>(
      "SELECT key, value, version, epoch, updated_at FROM records WHERE key = ?",
    ),
    getClaim: db.prepare<[string], { key: string; owner: string | null; epoch: number; expires_at: number }>(
      "SELECT key, owner, epoch, expires_at FROM claims WHERE key = ?",
    ),
    // Two statements, so that the key range is an index range either way (see prefixEnd).
    list: db.prepare<[string, string, string, number, number], RecordRow>(
      `SELECT key, value, version, epoch, updated_at FROM records
        WHERE key >= ? AND key < ? AND key > ? AND (value IS NOT NULL OR ?) ORDER BY key LIMIT ?`,
    ),
    listFrom: db.prepare<[string, string, number, number], RecordRow>(
      `SELECT key, value, version, epoch, updated_at FROM records
        WHERE key >= ? AND key > ? AND (value IS NOT NULL OR ?) ORDER BY key LIMIT ?`,
    ),
    events: db.prepare<{ afterSeq: number; start: string; end: string | null; limit: number }, EventRow>(
      "SELECT * FROM events WHERE seq > @afterSeq AND key >= @start AND (@end IS NULL OR key < @end) ORDER BY seq LIMIT @limit",
    ),
    lastSeq: db.prepare<[], { seq: number }>(`SELECT ${LAST_SEQ} AS seq`),
  };
}

type ReadStatements = ReturnType<typeof readStatements>;
type SnapshotConnection = { db: Database.Database; stmt: ReadStatements };

/** Snapshot connections kept open for reuse; more snapshots at once open more, closed as they end. */
const MAX_IDLE_SNAPSHOT_CONNECTIONS = 4;

function listOn(stmt: ReadStatements, q: ListQuery): StoredRecord[] {
  const end = prefixEnd(q.prefix);
  const after = q.after ?? "";
  const deleted = q.includeDeleted ? 1 : 0;
  const rows =
    end === null
      ? stmt.listFrom.all(q.prefix, after, deleted, q.limit)
      : stmt.list.all(q.prefix, end, after, deleted, q.limit);
  return rows.map(toRecord);
}

function toRecord(r: RecordRow): StoredRecord {
  return { key: r.key, valueText: r.value, version: r.version, epoch: r.epoch, updatedAt: r.updated_at };
}
