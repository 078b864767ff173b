/**
 * One writer per SQLite file per process. Every `SqliteBackend` opened on a file in this process — a store, a
 * LangGraph saver and a `FencedStore` on `./.fenced/state.db`, say — shares this object: one write connection, one
 * group commit, one set of prepared write statements. So transactions of all of them take turns on one connection
 * and none of them ever waits for the file's write lock while another holds it in this same process. (Two connections
 * would: the second one's `BEGIN IMMEDIATE` waits synchronously — `whileBusy` — while the first one's group is open
 * across awaits on the same thread, and the event loop freezes until the busy timeout.) Across processes nothing
 * changes: each process's writer takes the file's lock with `BEGIN IMMEDIATE`.
 *
 * Who may use the write connection (`db`):
 * - `GroupCommit`, to begin, commit and roll back groups and savepoints;
 * - while a group is open, only the bodies of that group's transactions, through `tx`, when the group runs them;
 * - `close`, through `GroupCommit.exclusive`, once no group is running or waiting.
 * Nothing else: a read outside a transaction sees the group's uncommitted writes on this connection, writes that may
 * still roll back. Such reads go to each backend's own read connection (sqlite.ts).
 */
import type Database from "better-sqlite3";
import type { BackendTx, IdempotencyRecord, KeyState } from "../../core/backend.js";
import { FencedStateError } from "../../core/errors.js";
import { GroupCommit } from "./group-commit.js";
import { Listeners } from "../serial.js";
import { sqliteCheckpointTx } from "./checkpoints.js";
import { LAST_SEQ, openWriterConnection, unavailable, whileBusy } from "./connection.js";
import { WalCheckpoints } from "./wal-checkpoints.js";

/** Group commit bounds: other processes wait for the write lock while a group holds it. */
const GROUP_MAX_SIZE = 64;
const GROUP_MAX_MS = 5;

interface KeyStateRow {
  value: string | null;
  version: number | null;
  r_epoch: number | null;
  updated_at: number | null;
  owner: string | null;
  c_epoch: number | null;
  expires_at: number | null;
}

export interface WriterOptions {
  durability: "normal" | "full";
  busyTimeoutMs: number;
}

/** The writers of this process, by database file (`databaseFile`). */
const writers = new Map<string, SqliteWriter>();

export class SqliteWriter {
  /** The write connection: see the rules at the top of this file. */
  readonly db: Database.Database;
  private readonly group: GroupCommit<BackendTx>;
  private readonly listeners = new Listeners();
  private readonly purgeStatements;
  /** @internal Checkpoints between groups (wal-checkpoints.ts); exposed for the WAL tests. */
  readonly checkpoints: WalCheckpoints;
  private users = 1;
  private durability: "normal" | "full";
  private busyTimeoutMs: number;

  /**
   * The writer of `file`, opened (and the schema migrated) if this process has none. Each call must be paired with a
   * `release()`. When stores ask for different settings the strongest wins: `durability: "full"` if any asks for it,
   * the longest busy timeout.
   */
  static acquire(file: string, options: WriterOptions): SqliteWriter {
    const open = writers.get(file);
    if (!open) {
      const writer = new SqliteWriter(file, options);
      writers.set(file, writer);
      return writer;
    }
    open.users++;
    open.busyTimeoutMs = Math.max(open.busyTimeoutMs, options.busyTimeoutMs);
    if (options.durability === "full" && open.durability !== "full") {
      open.durability = "full";
      // Between groups (SQLite refuses to change it inside a transaction): it applies to every transaction after it,
      // the first of this user's among them.
      open.group
        .exclusive(async () => void open.db.pragma("synchronous = FULL"))
        .catch((err: unknown) =>
          process.emitWarning(`fenced-state: could not set durability "full" on ${file}: ${String(err)}`),
        );
    }
    return open;
  }

  private constructor(
    private readonly file: string,
    options: WriterOptions,
  ) {
    this.durability = options.durability;
    this.busyTimeoutMs = options.busyTimeoutMs;
    this.db = openWriterConnection(file, options);
    const db = this.db;
    const s = {
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
      putRecord: db.prepare(
        `INSERT INTO records (key, value, version, epoch, updated_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = excluded.version,
             epoch = excluded.epoch, updated_at = excluded.updated_at`,
      ),
      putClaim: db.prepare(
        `INSERT INTO claims (key, owner, epoch, expires_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, epoch = excluded.epoch, expires_at = excluded.expires_at`,
      ),
      getIdem: db.prepare<[string], { hash: string; result: string; created_at: number }>(
        "SELECT hash, result, created_at FROM idempotency WHERE op_id = ?",
      ),
      putIdem: db.prepare("INSERT INTO idempotency (op_id, hash, result, created_at) VALUES (?, ?, ?, ?)"),
      nextEpoch: db.prepare<[number], { epoch: number }>(
        "UPDATE epoch_counter SET epoch = max(epoch, ?) + 1 RETURNING epoch",
      ),
      // Never a seq handed out before, even after the rows holding it were purged (LAST_SEQ).
      appendEvent: db.prepare(
        `INSERT INTO events (seq, ts, key, version, epoch, owner, op_id, outcome)
           VALUES (${LAST_SEQ} + 1, ?, ?, ?, ?, ?, ?, ?)`,
      ),
    };
    this.purgeStatements = {
      idempotency: db.prepare("DELETE FROM idempotency WHERE created_at < ?"),
      events: db.prepare("DELETE FROM events WHERE seq <= (SELECT max(seq) FROM events) - ?"),
    };
    const tx: BackendTx = {
      getKeyState: (key): KeyState => {
        const row = s.keyState.get(key, key)!;
        const state: KeyState = {};
        if (row.version !== null) {
          state.record = {
            key,
            valueText: row.value,
            version: row.version,
            epoch: row.r_epoch!,
            updatedAt: row.updated_at!,
          };
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
      nextEpoch: (atLeast) => s.nextEpoch.get(atLeast)!.epoch,
      appendEvent: (e) =>
        Number(
          s.appendEvent.run(e.ts, e.key, e.version, e.epoch, e.owner ?? null, e.opId ?? null, e.outcome)
            .lastInsertRowid,
        ),
      checkpoints: sqliteCheckpointTx(db),
    };
    this.group = new GroupCommit(
      tx,
      {
        // Only another process can hold the write lock (one writer per file here), so the synchronous wait is for it.
        begin: () => whileBusy(() => s.begin.run(), this.busyTimeoutMs),
        commit: () => whileBusy(() => s.commit.run(), this.busyTimeoutMs),
        rollback: () => void s.rollback.run(),
        savepoint: () => void s.savepoint.run(),
        release: () => void s.release.run(),
        rollbackToSavepoint: () => void s.rollbackToSavepoint.run(),
        inTransaction: () => db.inTransaction,
      },
      {
        maxSize: GROUP_MAX_SIZE,
        maxMs: GROUP_MAX_MS,
        mapError: (err) => (err instanceof FencedStateError ? err : unavailable(err)),
        onCommit: (transactions) => {
          this.checkpoints.landed(transactions);
          this.listeners.notify();
        },
      },
    );
    this.checkpoints = new WalCheckpoints({ file, db, betweenGroups: (body) => this.group.exclusive(body) });
  }

  /**
   * Runs `body` in a transaction of this file (possibly grouped with others); resolves once it is committed. `gather`:
   * its group starts at the end of this event-loop turn (`GroupCommit.run`).
   */
  transact<T>(body: (tx: BackendTx) => Promise<T>, options: { gather?: boolean } = {}): Promise<T> {
    return this.group.run(body, options);
  }

  /** Drops idempotency records created before `idempotencyBefore` and all but the newest `maxEvents` events. */
  purge(q: { idempotencyBefore: number; maxEvents: number }): Promise<void> {
    return this.group.run(async () => {
      this.purgeStatements.idempotency.run(q.idempotencyBefore);
      this.purgeStatements.events.run(q.maxEvents);
    });
  }

  /** `listener` runs after every group that lands, whichever store's transactions it held. */
  subscribe(listener: () => void): () => void {
    return this.listeners.add(listener);
  }

  /**
   * Ends one `acquire`. The last one closes the connection, once no group is running or waiting; a store that
   * acquires the file meanwhile keeps it open.
   */
  release(): Promise<void> {
    if (--this.users > 0) return Promise.resolve();
    return this.group.exclusive(async () => {
      if (this.users > 0) return;
      if (writers.get(this.file) === this) writers.delete(this.file);
      await this.checkpoints.close();
      this.db.close();
    });
  }
}
