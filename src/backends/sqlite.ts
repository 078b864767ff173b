/**
 * The SQLite backend (the embedded default): better-sqlite3, WAL, `BEGIN IMMEDIATE`. Several OS processes on one file
 * are safe: `BEGIN IMMEDIATE` takes the file's write lock before the first read, so the reads `commit` decides on
 * cannot go stale before its writes land. Within a process, transactions take turns on the one connection, and those
 * that wait while another runs are committed together (group commit, see group-commit.ts).
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import type {
  Backend,
  BackendTx,
  CheckpointReader,
  IdempotencyRecord,
  KeyState,
  StoredClaim,
  StoredRecord,
} from "../core/backend.js";
import { FencedStateError, UnavailableError } from "../core/errors.js";
import type { Outcome, StateEvent } from "../core/schemas.js";
import { GroupCommit } from "./group-commit.js";
import { Listeners, prefixEnd } from "./serial.js";
import { CHECKPOINTS_MIGRATION, SqliteCheckpoints } from "./sqlite-checkpoints.js";

export interface SqliteBackendOptions {
  /** Database file. `":memory:"` works too (one connection only). */
  path: string;
  /**
   * `"normal"` (default): WAL + synchronous=NORMAL, like the official SqliteSaver — survives any process crash.
   * `"full"`: synchronous=FULL, an fsync on every commit — also survives power loss.
   */
  durability?: "normal" | "full";
  /** How long to wait for another process's write lock before `UNAVAILABLE`. Default 5,000 ms. */
  busyTimeoutMs?: number;
}

/** Schema migrations, applied in order; `PRAGMA user_version` records how many ran. */
export const SQLITE_MIGRATIONS: readonly string[] = [
  `CREATE TABLE records (
     key TEXT PRIMARY KEY,
     value TEXT,
     version INTEGER NOT NULL,
     epoch INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE TABLE claims (
     key TEXT PRIMARY KEY,
     owner TEXT,
     epoch INTEGER NOT NULL,
     expires_at INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE TABLE idempotency (
     op_id TEXT PRIMARY KEY,
     hash TEXT NOT NULL,
     result TEXT NOT NULL,
     created_at INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE INDEX idempotency_created_at ON idempotency (created_at);
   CREATE TABLE events (
     seq INTEGER PRIMARY KEY,
     ts INTEGER NOT NULL,
     key TEXT NOT NULL,
     version INTEGER NOT NULL,
     epoch INTEGER NOT NULL,
     owner TEXT,
     op_id TEXT,
     outcome TEXT NOT NULL
   );`,
  CHECKPOINTS_MIGRATION,
  // The store-wide epoch counter (BackendTx.nextEpoch): one row, starting above every epoch already handed out.
  `CREATE TABLE epoch_counter (only_row INTEGER PRIMARY KEY CHECK (only_row = 1), epoch INTEGER NOT NULL);
   INSERT INTO epoch_counter (only_row, epoch) SELECT 1, coalesce(max(epoch), 0) FROM claims;`,
];

interface KeyStateRow {
  value: string | null;
  version: number | null;
  r_epoch: number | null;
  updated_at: number | null;
  owner: string | null;
  c_epoch: number | null;
  expires_at: number | null;
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

const DEFAULT_BUSY_TIMEOUT_MS = 5000;
/**
 * WAL pages between automatic checkpoints (SQLite's default is 1,000). A commit writes 2–4 pages (record, event log,
 * idempotency record and its index), so the default checkpoints every few hundred commits, and each checkpoint
 * fsyncs the WAL and the database file twice: most of a commit's cost (bench/README.md, "Core"). 10,000 pages (a WAL
 * of up to ~40 MB) checkpoints ten times less often. Durability is unchanged: it is set by `synchronous`.
 */
export const WAL_AUTOCHECKPOINT_PAGES = 10_000;
/** Group commit bounds: other processes wait for the write lock while a group holds it. */
const GROUP_MAX_SIZE = 64;
const GROUP_MAX_MS = 5;

export class SqliteBackend implements Backend {
  readonly kind = "sqlite";
  /**
   * @internal The better-sqlite3 connection, for this package's own tests and benchmarks. Not part of the API, and
   * stripped from the published types so that they do not need `@types/better-sqlite3`.
   */
  readonly db: Database.Database;
  readonly checkpoints: CheckpointReader;
  private readonly busyTimeoutMs: number;
  private readonly listeners = new Listeners();
  private readonly tx: BackendTx;
  private readonly stmt;
  private readonly group: GroupCommit<BackendTx>;

  constructor(options: SqliteBackendOptions) {
    if (options.path !== ":memory:") mkdirSync(dirname(options.path), { recursive: true });
    this.busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
    this.db = openDatabase(options);
    const db = this.db;
    this.stmt = {
      begin: db.prepare("BEGIN IMMEDIATE"),
      commit: db.prepare("COMMIT"),
      rollback: db.prepare("ROLLBACK"),
      savepoint: db.prepare("SAVEPOINT grouped"),
      release: db.prepare("RELEASE grouped"),
      rollbackToSavepoint: db.prepare("ROLLBACK TO grouped"),
      keyState: db.prepare<[string, string], KeyStateRow>(
        `SELECT r.value, r.version, r.epoch AS r_epoch, r.updated_at, c.owner, c.epoch AS c_epoch, c.expires_at
           FROM (SELECT 1) LEFT JOIN records r ON r.key = ? LEFT JOIN claims c ON c.key = ?`,
      ),
      getRecord: db.prepare<[string], { key: string; value: string | null; version: number; epoch: number; updated_at: number }>(
        "SELECT key, value, version, epoch, updated_at FROM records WHERE key = ?",
      ),
      putRecord: db.prepare(
        `INSERT INTO records (key, value, version, epoch, updated_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = excluded.version,
             epoch = excluded.epoch, updated_at = excluded.updated_at`,
      ),
      getClaim: db.prepare<[string], { key: string; owner: string | null; epoch: number; expires_at: number }>(
        "SELECT key, owner, epoch, expires_at FROM claims WHERE key = ?",
      ),
      putClaim: db.prepare(
        `INSERT INTO claims (key, owner, epoch, expires_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, epoch = excluded.epoch, expires_at = excluded.expires_at`,
      ),
      getIdem: db.prepare<[string], { hash: string; result: string; created_at: number }>(
        "SELECT hash, result, created_at FROM idempotency WHERE op_id = ?",
      ),
      putIdem: db.prepare("INSERT INTO idempotency (op_id, hash, result, created_at) VALUES (?, ?, ?, ?)"),
      nextEpoch: db.prepare<[number], { epoch: number }>("UPDATE epoch_counter SET epoch = max(epoch, ?) + 1 RETURNING epoch"),
      appendEvent: db.prepare(
        "INSERT INTO events (ts, key, version, epoch, owner, op_id, outcome) VALUES (?, ?, ?, ?, ?, ?, ?)",
      ),
      list: db.prepare<[string, string, string, number, number], { key: string; value: string | null; version: number; epoch: number; updated_at: number }>(
        `SELECT key, value, version, epoch, updated_at FROM records
          WHERE key >= ? AND key < ? AND key > ? AND (value IS NOT NULL OR ?) ORDER BY key LIMIT ?`,
      ),
      events: db.prepare<[number, string, string, number], EventRow>(
        "SELECT * FROM events WHERE seq > ? AND key >= ? AND key < ? ORDER BY seq LIMIT ?",
      ),
      lastSeq: db.prepare<[], { seq: number | null }>("SELECT max(seq) AS seq FROM events"),
      purgeIdem: db.prepare("DELETE FROM idempotency WHERE created_at < ?"),
      purgeEvents: db.prepare("DELETE FROM events WHERE seq <= (SELECT max(seq) FROM events) - ?"),
    };
    const s = this.stmt;
    const checkpoints = new SqliteCheckpoints(db, (body) => this.read(body));
    this.checkpoints = checkpoints;
    this.tx = {
      getKeyState: (key): KeyState => {
        const row = s.keyState.get(key, key)!;
        const state: KeyState = {};
        if (row.version !== null) {
          state.record = { key, valueText: row.value, version: row.version, epoch: row.r_epoch!, updatedAt: row.updated_at! };
        }
        if (row.c_epoch !== null) {
          state.claim = { key, owner: row.owner, epoch: row.c_epoch, expiresAt: row.expires_at! };
        }
        return state;
      },
      putRecord: (r) => void s.putRecord.run(r.key, r.valueText, r.version, r.epoch, r.updatedAt),
      putClaim: (c) => void s.putClaim.run(c.key, c.owner, c.epoch, c.expiresAt),
      getIdempotency: (opId): IdempotencyRecord | undefined => {
        const row = s.getIdem.get(opId);
        return row && { opId, hash: row.hash, resultText: row.result, createdAt: row.created_at };
      },
      putIdempotency: (r) => void s.putIdem.run(r.opId, r.hash, r.resultText, r.createdAt),
      appendEvent: (e) =>
        Number(s.appendEvent.run(e.ts, e.key, e.version, e.epoch, e.owner ?? null, e.opId ?? null, e.outcome).lastInsertRowid),
      nextEpoch: (atLeast) => s.nextEpoch.get(atLeast)!.epoch,
      checkpoints: checkpoints.tx,
    };
    this.group = new GroupCommit(this.tx, {
      begin: () => this.read(() => s.begin.run()),
      commit: () => whileBusy(() => s.commit.run(), this.busyTimeoutMs),
      rollback: () => void s.rollback.run(),
      savepoint: () => void s.savepoint.run(),
      release: () => void s.release.run(),
      rollbackToSavepoint: () => void s.rollbackToSavepoint.run(),
      inTransaction: () => db.inTransaction,
    }, {
      maxSize: GROUP_MAX_SIZE,
      maxMs: GROUP_MAX_MS,
      mapError: (err) => (err instanceof FencedStateError ? err : unavailable(err)),
      onCommit: () => this.listeners.notify(),
    });
  }

  transact<T>(fn: (tx: BackendTx) => Promise<T>): Promise<T> {
    return this.group.run(fn);
  }

  async getRecord(key: string): Promise<StoredRecord | undefined> {
    const row = this.read(() => this.stmt.getRecord.get(key));
    return row && { key, valueText: row.value, version: row.version, epoch: row.epoch, updatedAt: row.updated_at };
  }

  async getClaim(key: string): Promise<StoredClaim | undefined> {
    const row = this.read(() => this.stmt.getClaim.get(key));
    return row && { key, owner: row.owner, epoch: row.epoch, expiresAt: row.expires_at };
  }

  async listRecords(q: { prefix: string; after?: string; limit: number; includeDeleted: boolean }): Promise<StoredRecord[]> {
    const rows = this.read(() =>
      this.stmt.list.all(q.prefix, prefixEnd(q.prefix), q.after ?? "", q.includeDeleted ? 1 : 0, q.limit),
    );
    return rows.map((r) => ({ key: r.key, valueText: r.value, version: r.version, epoch: r.epoch, updatedAt: r.updated_at }));
  }

  async readEvents(q: { prefix: string; afterSeq: number; limit: number }): Promise<StateEvent[]> {
    const rows = this.read(() => this.stmt.events.all(q.afterSeq, q.prefix, prefixEnd(q.prefix), q.limit));
    return rows.map((r) => ({
      seq: r.seq,
      ts: r.ts,
      key: r.key,
      version: r.version,
      epoch: r.epoch,
      outcome: r.outcome,
      ...(r.owner !== null && { owner: r.owner }),
      ...(r.op_id !== null && { opId: r.op_id }),
    }));
  }

  async lastSeq(): Promise<number> {
    return this.read(() => this.stmt.lastSeq.get()!.seq ?? 0);
  }

  subscribe(listener: () => void): () => void {
    return this.listeners.add(listener);
  }

  async purge(q: { idempotencyBefore: number; maxEvents: number }): Promise<void> {
    await this.transact(async () => {
      this.stmt.purgeIdem.run(q.idempotencyBefore);
      this.stmt.purgeEvents.run(q.maxEvents);
    });
  }

  async close(): Promise<void> {
    await this.group.exclusive(async () => this.db.close());
  }

  /** Runs a statement, waiting out another process's lock for up to `busyTimeoutMs`; failures become `UNAVAILABLE`. */
  private read<T>(body: () => T): T {
    try {
      return whileBusy(body, this.busyTimeoutMs);
    } catch (err) {
      throw unavailable(err);
    }
  }
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Retries `body` while SQLite reports the database busy, for up to `timeoutMs`. SQLite's own busy handler sleeps in
 * steps of 1 to 100 ms, so under contention between processes a waiter sleeps long after the lock is free; this waits
 * 10 µs to 2 ms, jittered, so a freed lock is taken within microseconds (see bench/sections/contention.ts).
 */
function whileBusy<T>(body: () => T, timeoutMs: number): T {
  const deadline = performance.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return body();
    } catch (err) {
      const code = (err as { code?: string }).code ?? "";
      if (!code.startsWith("SQLITE_BUSY") || performance.now() >= deadline) throw err;
      Atomics.wait(pause, 0, 0, Math.min(2, 0.01 * 2 ** Math.min(attempt, 8)) * (0.5 + Math.random()));
    }
  }
}

/** Opens the file, sets WAL and durability, and runs pending migrations under the write lock. */
function openDatabase(options: SqliteBackendOptions): Database.Database {
  let db: Database.Database;
  try {
    const timeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
    // busy_timeout 0: `whileBusy` does the waiting, with a finer grain than SQLite's busy handler.
    db = new Database(options.path, { timeout: 0 });
    whileBusy(() => db.pragma("journal_mode = WAL"), timeoutMs);
    db.pragma(`synchronous = ${options.durability === "full" ? "FULL" : "NORMAL"}`);
    db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
    whileBusy(() => db.exec("BEGIN IMMEDIATE"), timeoutMs);
    try {
      const applied = db.pragma("user_version", { simple: true }) as number;
      for (let i = applied; i < SQLITE_MIGRATIONS.length; i++) db.exec(SQLITE_MIGRATIONS[i]!);
      if (applied < SQLITE_MIGRATIONS.length) db.pragma(`user_version = ${SQLITE_MIGRATIONS.length}`);
      db.exec("COMMIT");
    } catch (err) {
      db.exec("ROLLBACK");
      throw err;
    }
  } catch (err) {
    throw unavailable(err, `cannot open ${options.path}`);
  }
  return db;
}

/** Maps a SQLite failure (busy beyond busy_timeout, disk full, read-only, I/O, corrupt) to `UNAVAILABLE`. */
function unavailable(err: unknown, context?: string): UnavailableError {
  const code = (err as { code?: string }).code ?? "";
  const kind = code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")
    ? "busy"
    : code === "SQLITE_FULL"
      ? "disk full"
      : code.startsWith("SQLITE_READONLY")
        ? "read-only database"
        : code === "SQLITE_CORRUPT" || code === "SQLITE_NOTADB"
          ? "corrupt database"
          : code.startsWith("SQLITE_IOERR")
            ? "I/O error"
            : "sqlite error";
  const detail = `${kind}${context ? ` (${context})` : ""}: ${(err as Error).message ?? String(err)}`;
  return new UnavailableError({ cause: detail }, { cause: err });
}
