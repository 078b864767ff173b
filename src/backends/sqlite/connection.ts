/**
 * Opening SQLite connections for the SQLite backend: the schema and its migrations, the checks that turn a path that
 * can never hold a store into a clear `INVALID_INPUT`, and the mapping of driver failures to typed errors.
 */
import { mkdirSync, realpathSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import Database from "better-sqlite3";
import { InvalidInputError, UnavailableError } from "../../core/errors.js";
import { CHECKPOINTS_MIGRATION } from "./checkpoints.js";

/** Schema migrations, applied in order; `PRAGMA user_version` records how many ran. Never edit one that shipped. */
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
  // Event seqs from a counter that never goes back (sqlite_sequence), instead of "largest rowid + 1", which hands
  // out a seq again once the rows holding it are gone: a watcher resuming after that seq would skip the new events.
  // The copy keeps every seq, and sets the counter to the largest. (Superseded by the event floor below.)
  `CREATE TABLE events_counted (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     ts INTEGER NOT NULL,
     key TEXT NOT NULL,
     version INTEGER NOT NULL,
     epoch INTEGER NOT NULL,
     owner TEXT,
     op_id TEXT,
     outcome TEXT NOT NULL
   );
   INSERT INTO events_counted (seq, ts, key, version, epoch, owner, op_id, outcome)
     SELECT seq, ts, key, version, epoch, owner, op_id, outcome FROM events ORDER BY seq;
   DROP TABLE events;
   ALTER TABLE events_counted RENAME TO events;`,
  // The store-wide epoch counter (BackendTx.nextEpoch): one row, starting above every epoch already handed out.
  `CREATE TABLE epoch_counter (only_row INTEGER PRIMARY KEY CHECK (only_row = 1), epoch INTEGER NOT NULL);
   INSERT INTO epoch_counter (only_row, epoch) SELECT 1, coalesce(max(epoch), 0) FROM claims;`,
  // Event seqs above a floor that deletes raise (a trigger), instead of AUTOINCREMENT's counter: the counter was a
  // page written by every commit (28.5 → 21.7 µs per commit, measured); the floor is written only when events are
  // deleted. The copy keeps every seq; the floor starts at the old counter.
  `CREATE TABLE event_floor (only_row INTEGER PRIMARY KEY CHECK (only_row = 1), seq INTEGER NOT NULL);
   INSERT INTO event_floor (only_row, seq)
     SELECT 1, max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0),
                   coalesce((SELECT max(seq) FROM events), 0));
   CREATE TABLE events_floored (
     seq INTEGER PRIMARY KEY,
     ts INTEGER NOT NULL,
     key TEXT NOT NULL,
     version INTEGER NOT NULL,
     epoch INTEGER NOT NULL,
     owner TEXT,
     op_id TEXT,
     outcome TEXT NOT NULL
   );
   INSERT INTO events_floored (seq, ts, key, version, epoch, owner, op_id, outcome)
     SELECT seq, ts, key, version, epoch, owner, op_id, outcome FROM events ORDER BY seq;
   DROP TABLE events;
   ALTER TABLE events_floored RENAME TO events;
   CREATE TRIGGER events_deleted AFTER DELETE ON events
     BEGIN UPDATE event_floor SET seq = max(seq, OLD.seq); END;`,
];

/**
 * The last event seq handed out, as an SQL expression: the largest seq in the log, or the floor that deleting events
 * raised (the `events_deleted` trigger), whichever is larger. A new event's seq is one more, so no seq is ever handed
 * out twice, not even after every event row was deleted; and it is written in the transaction that appends the event,
 * so a snapshot's seq and its records are one state.
 */
export const LAST_SEQ = "max(coalesce((SELECT max(seq) FROM events), 0), (SELECT seq FROM event_floor))";

export const DEFAULT_BUSY_TIMEOUT_MS = 5000;
/**
 * The automatic checkpoint interval (WAL pages) the benchmarks give their raw SQLite peers: SQLite's default, 1,000,
 * checkpoints every few hundred commits inside the COMMIT that crosses it; 10,000 does so ten times less often. The
 * store's own writer turns automatic checkpoints off and checkpoints between groups instead (wal-checkpoints.ts).
 */
export const WAL_AUTOCHECKPOINT_PAGES = 10_000;

/**
 * The one name of a database file in this process, whatever path reached it (relative, through a symlink): the key
 * under which its stores share one writer. Creates the parent directories. Throws `INVALID_INPUT` for a path that
 * can never hold a store.
 */
export function databaseFile(path: string): string {
  if (path === "" || path === ":memory:") {
    throw invalidPath(path, "a SQLite store needs a file path; for a store in memory use openStore({ memory: true })");
  }
  try {
    mkdirSync(dirname(path), { recursive: true });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "ENOTDIR" || code === "EEXIST") {
      throw invalidPath(path, `a parent of it is a file, not a directory: choose a path whose parents are directories`);
    }
    throw unavailable(err, `cannot create the directory of ${path}`);
  }
  let file: string;
  try {
    file = realpathSync(path);
  } catch {
    return join(realpathSync(dirname(path)), basename(path));
  }
  if (statSync(file).isDirectory()) {
    throw invalidPath(path, `it is a directory: give the path of a database file, e.g. ${join(path, "state.db")}`);
  }
  return file;
}

/**
 * @internal
 * Opens the connection that writes `file`: WAL, the durability asked for, and the schema brought up to date under the
 * write lock. Refuses (`INVALID_INPUT`, connection closed) a file that is not a SQLite database, a database that is
 * not a fenced-state store (another program's tables, e.g. LangGraph's SqliteSaver), or one made by a newer version.
 */
export function openWriterConnection(
  file: string,
  options: { durability: "normal" | "full"; busyTimeoutMs: number },
): Database.Database {
  let db: Database.Database;
  try {
    // busy_timeout 0: `whileBusy` does the waiting, with a finer grain than SQLite's busy handler.
    db = new Database(file, { timeout: 0 });
  } catch (err) {
    throw unavailable(err, `cannot open ${file}`);
  }
  try {
    whileBusy(() => db.pragma("journal_mode = WAL"), options.busyTimeoutMs);
    db.pragma(`synchronous = ${options.durability === "full" ? "FULL" : "NORMAL"}`);
    // Checkpoints run between groups (wal-checkpoints.ts), never inside a COMMIT.
    db.pragma("wal_autocheckpoint = 0");
    whileBusy(() => db.exec("BEGIN IMMEDIATE"), options.busyTimeoutMs);
    try {
      migrate(db, file);
      db.exec("COMMIT");
    } catch (err) {
      db.exec("ROLLBACK");
      throw err;
    }
  } catch (err) {
    db.close();
    if (err instanceof InvalidInputError) throw err;
    if ((err as { code?: string }).code === "SQLITE_NOTADB") {
      throw invalidPath(
        file,
        "it is not a SQLite database: give fenced-state a new file, or the path of one of its stores",
      );
    }
    throw unavailable(err, `cannot open ${file}`);
  }
  return db;
}

/** Applies the migrations `file` lacks; the caller holds the write lock. */
function migrate(db: Database.Database, file: string): void {
  const applied = db.pragma("user_version", { simple: true }) as number;
  if (applied > SQLITE_MIGRATIONS.length) {
    throw invalidPath(
      file,
      `it was written by a newer fenced-state (schema ${applied}; this version knows ${SQLITE_MIGRATIONS.length}): upgrade fenced-state`,
    );
  }
  if (applied === 0) {
    const tables = db
      .prepare<[], { name: string }>(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
      )
      .all()
      .map((t) => t.name);
    if (tables.length > 0) {
      throw invalidPath(
        file,
        `it is not a fenced-state store: it holds another program's tables (${tables.join(", ")}), e.g. LangGraph's ` +
          "SqliteSaver. Give fenced-state a file of its own; it changes nothing in this one",
      );
    }
  }
  for (let i = applied; i < SQLITE_MIGRATIONS.length; i++) db.exec(SQLITE_MIGRATIONS[i]!);
  if (applied < SQLITE_MIGRATIONS.length) db.pragma(`user_version = ${SQLITE_MIGRATIONS.length}`);
}

/**
 * @internal
 * Opens a connection that only reads `file` (the writer created it). Outside a transaction each statement reads the
 * last committed state (WAL): never a group's uncommitted writes, which live on the writer connection alone.
 */
export function openReaderConnection(file: string): Database.Database {
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { timeout: 0, fileMustExist: true });
    db.pragma("query_only = 1");
    return db;
  } catch (err) {
    db?.close();
    throw unavailable(err, `cannot open ${file} for reading`);
  }
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Retries `body` while SQLite reports the database busy, for up to `timeoutMs`. SQLite's own busy handler sleeps in
 * steps of 1 to 100 ms, so under contention between processes a waiter sleeps long after the lock is free; this waits
 * 10 µs to 2 ms, jittered, so a freed lock is taken within microseconds (see bench/sections/contention.ts).
 *
 * It waits synchronously, so it must never wait for a lock held in this process: one writer per file per process
 * (sqlite-writer.ts) makes sure the write lock is only ever held by another process.
 */
export function whileBusy<T>(body: () => T, timeoutMs: number): T {
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

function invalidPath(path: string, problem: string): InvalidInputError {
  return new InvalidInputError(
    { issues: [{ path: ["path"], message: `${path}: ${problem}` }] },
    `cannot open a store at ${path}: ${problem}`,
  );
}

/** Maps a SQLite failure (busy beyond busy_timeout, disk full, read-only, I/O, corrupt) to `UNAVAILABLE`. */
export function unavailable(err: unknown, context?: string): UnavailableError {
  const code = (err as { code?: string }).code ?? "";
  const kind =
    code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")
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
