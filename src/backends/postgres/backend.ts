/**
 * The PostgreSQL backend: several hosts share one database with the same guarantees as SQLite on one host. It
 * stores; `commit` in the core decides. Transactions run under the server's default READ COMMITTED isolation,
 * made safe by per-key and per-opId advisory locks (see tx.ts); `LISTEN/NOTIFY` wakes watchers on every host.
 * A snapshot is a REPEATABLE READ, READ ONLY transaction on one pooled connection: every statement in it sees the
 * state of its first one, which reads the seq (event_seq is written in the transaction that appends, so the seq and
 * the records are one state).
 */
import pg from "pg";
import type { Backend, BackendTx, ListQuery, SnapshotReader, StoredClaim, StoredRecord } from "../../core/backend.js";
import type { CheckpointReader } from "../../core/checkpoints.js";
import { CloseGate, gatedReader } from "../../core/close-gate.js";
import { FencedStateError, InvalidInputError, UnavailableError } from "../../core/errors.js";
import { withBackoff } from "../../core/retry.js";
import type { Outcome, StateEvent } from "../../core/schemas.js";
import { prefixEnd } from "../key-order.js";
import { Listeners } from "../serial.js";
import { isConnectionFailure, storeError, unavailable } from "./errors.js";
import { CommitListener, notifySql } from "./notify.js";
import { DEFAULT_SCHEMA, type PostgresBackendOptions } from "./options.js";
import { SCHEMA_NAME, migrate, quoteIdent } from "./schema.js";
import { prepareAll, txSql, type TxSql } from "./sql.js";
import { PostgresTx } from "./tx.js";
import { PostgresCheckpoints, checkpointTxSql, type CheckpointTxSql } from "./checkpoints.js";
import { eventSql, type EventSql } from "./events.js";

interface RecordRow {
  key: string;
  value: string | null;
  version: string;
  epoch: string;
  updated_at: string;
}

/** A row of `EventSql.read`: an event, or all NULLs but `held` when none is readable. */
interface EventRow {
  seq: string | null;
  ts: string;
  key: string;
  version: string;
  epoch: string;
  owner: string | null;
  op_id: string | null;
  outcome: Outcome;
  held: boolean;
}

/** How soon watchers look again when events they could not read yet wait on a transaction in flight (ms). */
const HELD_RECHECK_MS = { first: 5, max: 100 };

/** A snapshot: every statement after it sees the state its first one saw, and none may write. */
const SNAPSHOT_BEGIN = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";

/** Reads outside a transaction: each is one statement, so it sees one consistent snapshot. */
function readStatements(s: string) {
  const named = (name: string, text: string) => ({ name: `fenced_${name}`, text });
  return {
    getRecord: named("get_record", `SELECT key, value, version, epoch, updated_at FROM ${s}.records WHERE key = $1`),
    getRecords: named(
      "get_records",
      `SELECT key, value, version, epoch, updated_at FROM ${s}.records WHERE key = ANY($1::text[])`,
    ),
    getClaim: named("get_claim", `SELECT key, owner, epoch, expires_at FROM ${s}.claims WHERE key = $1`),
    // Two statements, so that the key range is an index range either way (see prefixEnd).
    list: named(
      "list",
      `SELECT key, value, version, epoch, updated_at FROM ${s}.records
        WHERE key >= $1 AND key < $2 AND key > $3 AND (value IS NOT NULL OR $4) ORDER BY key LIMIT $5`,
    ),
    listFrom: named(
      "list_from",
      `SELECT key, value, version, epoch, updated_at FROM ${s}.records
        WHERE key >= $1 AND key > $2 AND (value IS NOT NULL OR $3) ORDER BY key LIMIT $4`,
    ),
    purgeIdem: named("purge_idem", `DELETE FROM ${s}.idempotency WHERE created_at < $1`),
  };
}

export class PostgresBackend implements Backend {
  readonly kind = "postgres";
  /** The schema holding this store's tables. */
  readonly schema: string;
  private readonly pool: pg.Pool;
  private readonly txSql: TxSql;
  private readonly checkpointSql: CheckpointTxSql;
  /** Checkpoint storage for the LangGraph saver. */
  readonly checkpoints: CheckpointReader;
  private readonly sql: ReturnType<typeof readStatements>;
  private readonly eventSql: EventSql;
  /** Prepares the statements transactions `EXECUTE` (sql.ts, `Prepared`) on a connection, and those that have them. */
  private readonly prepareAll: string;
  private readonly prepared = new WeakSet<pg.PoolClient>();
  /** The wake-up statements (notify.ts): a NOTIFY goes out only when some connection listens. */
  private readonly wakeUps: ReturnType<typeof notifySql>;
  /** Wakes local watchers again while a read found events held back (see `readEvents`). */
  private readonly recheck: { timer: NodeJS.Timeout | undefined; delayMs: number } = {
    timer: undefined,
    delayMs: HELD_RECHECK_MS.first,
  };
  /** The NOTIFY in flight, if any (`close` waits for it), and whether a commit landed since it was sent. */
  private notifyInFlight: Promise<void> | undefined;
  private notifyAgain = false;
  private readonly listeners = new Listeners();
  private readonly commitListener: CommitListener;
  private subscribers = 0;
  private readonly gate = new CloseGate();

  /** Connects, creates the schema or migrates it, and returns a ready backend. Throws `UNAVAILABLE` if it cannot. */
  static async open(options: PostgresBackendOptions): Promise<PostgresBackend> {
    const backend = new PostgresBackend(options);
    try {
      await migrate(backend.pool, backend.schema);
    } catch (err) {
      await backend.pool.end().catch(() => undefined);
      throw unavailable(err, `cannot prepare schema ${backend.schema}`);
    }
    return backend;
  }

  private constructor(options: PostgresBackendOptions) {
    this.schema = options.schema ?? DEFAULT_SCHEMA;
    if (!SCHEMA_NAME.test(this.schema)) {
      throw new InvalidInputError({
        issues: [{ path: ["schema"], message: "schema must be a plain identifier: letters, digits, _ (at most 63)" }],
      });
    }
    const p = options.pool ?? {};
    const statementTimeoutMs = p.statementTimeoutMs ?? 15_000;
    const config: pg.ClientConfig = {
      connectionString: options.url,
      application_name: p.applicationName ?? "fenced-state",
      connectionTimeoutMillis: p.connectTimeoutMs ?? 5_000,
      statement_timeout: statementTimeoutMs,
      idle_in_transaction_session_timeout: p.idleInTransactionTimeoutMs ?? 15_000,
      query_timeout: statementTimeoutMs + 5_000,
      keepAlive: true,
    };
    this.pool = new pg.Pool({ ...config, max: p.max ?? 10, idleTimeoutMillis: p.idleTimeoutMs ?? 30_000 });
    // An idle connection that drops (server restart, pg_terminate_backend) is discarded by the pool; the next
    // checkout opens a new one. Without a listener Node would crash on the "error" event.
    this.pool.on("error", () => undefined);
    const s = quoteIdent(this.schema);
    this.txSql = txSql(s);
    this.checkpointSql = checkpointTxSql(s);
    this.checkpoints = gatedReader(new PostgresCheckpoints(this.pool, s), this.gate);
    this.sql = readStatements(s);
    this.eventSql = eventSql(s, this.schema);
    this.wakeUps = notifySql(this.schema);
    this.prepareAll = prepareAll([
      ...this.txSql.prepared,
      ...this.eventSql.prepared,
      ...this.checkpointSql.prepared,
      ...this.wakeUps.prepared,
    ]);
    this.commitListener = new CommitListener(config, this.wakeUps.channel, this.wakeUps.hold, () =>
      this.listeners.notify(),
    );
  }

  /**
   * A pooled connection ready for a transaction: the first time a connection is used for one, the transaction
   * statements are prepared on it (sql.ts, `Prepared`), in a round trip of its own. One whose prepare fails is
   * destroyed.
   */
  private readonly connect = async (): Promise<pg.PoolClient> => {
    const client = await this.pool.connect();
    if (this.prepared.has(client)) return client;
    try {
      await client.query(this.prepareAll);
    } catch (err) {
      client.release(true);
      throw err;
    }
    this.prepared.add(client);
    return client;
  };

  transact<T>(fn: (tx: BackendTx) => Promise<T>): Promise<T> {
    return this.gate.run(() => this.transactOpen(fn));
  }

  private async transactOpen<T>(fn: (tx: BackendTx) => Promise<T>): Promise<T> {
    let tx: PostgresTx;
    try {
      tx = await PostgresTx.start(this.connect, this.schema, this.txSql, this.checkpointSql, this.eventSql);
    } catch (err) {
      throw unavailable(err, "cannot get a connection");
    }
    let notifying = false;
    try {
      const result = await fn(tx);
      const listened = await tx.commit(this.wakeUps.probe);
      if (tx.appended) {
        // Other hosts hear of it only when some connection listens (notify.ts); this host's watchers always do.
        if (listened) notifying = this.notifyCommitted(tx);
        this.listeners.notify();
      }
      return result;
    } catch (err) {
      // A statement that failed on a live connection leaves it usable once rolled back; a connection failure may not.
      if (!(err instanceof FencedStateError) && isConnectionFailure(err)) tx.lost = true;
      await tx.rollback();
      throw storeError(err);
    } finally {
      if (!notifying) tx.release();
    }
  }

  /**
   * Wakes other hosts' watchers after a commit that appended (notify.ts), with at most one NOTIFY in flight: a commit
   * that lands while one is in flight is covered by one more, sent once that one is answered, so every commit is
   * followed by a NOTIFY sent after its COMMIT, and writers that commit together share one (a watcher reads every
   * new event whichever NOTIFY woke it). The first goes on the committed connection, which returns to the pool once
   * it is answered: the next transaction takes another connection instead of queueing its BEGIN behind it (measured:
   * a sequential put waited ~0.6 ms for it). Answers whether it kept `tx`'s connection.
   */
  private notifyCommitted(tx: PostgresTx): boolean {
    if (this.notifyInFlight) {
      this.notifyAgain = true;
      return false;
    }
    this.notifyInFlight = tx.notifyCommitted(this.wakeUps.notify).finally(() => {
      tx.release();
      this.notifyAnswered();
    });
    return true;
  }

  private notifyAnswered(): void {
    this.notifyInFlight = undefined;
    if (!this.notifyAgain) return;
    this.notifyAgain = false;
    this.notifyInFlight = this.pool
      .query(this.wakeUps.notify)
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(() => this.notifyAnswered());
  }

  async getRecord(key: string): Promise<StoredRecord | undefined> {
    const row = (await this.query<RecordRow>(this.sql.getRecord, [key]))[0];
    return row && toRecord(row);
  }

  async getClaim(key: string): Promise<StoredClaim | undefined> {
    const row = (
      await this.query<{ key: string; owner: string | null; epoch: string; expires_at: string }>(this.sql.getClaim, [
        key,
      ])
    )[0];
    return row && { key: row.key, owner: row.owner, epoch: Number(row.epoch), expiresAt: Number(row.expires_at) };
  }

  listRecords(q: ListQuery): Promise<StoredRecord[]> {
    return this.gate.run(() => this.listOn(this.statement.bind(this), q));
  }

  snapshot<T>(fn: (r: SnapshotReader) => Promise<T>): Promise<T> {
    return this.gate.run(() => this.snapshotOpen(fn));
  }

  private async snapshotOpen<T>(fn: (r: SnapshotReader) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw unavailable(err, "cannot get a connection");
    }
    /** Set when the connection failed: it is then destroyed, not returned to the pool. */
    let lost: Error | undefined;
    // A connection that drops while checked out emits "error"; unheard, it would crash the process.
    const onError = (err: Error) => void (lost ??= err);
    client.on("error", onError);
    const run: Run = async (statement, values) => {
      try {
        const result: pg.QueryResult | pg.QueryResult[] = await client.query({ ...statement, values });
        return (Array.isArray(result) ? result.at(-1)! : result).rows;
      } catch (err) {
        if (isConnectionFailure(err)) lost = err instanceof Error ? err : new Error(String(err));
        throw storeError(err);
      }
    };
    try {
      const seq = await this.settledSnapshot(run);
      const result = await fn({
        getRecords: async (keys) => {
          const rows = new Map(
            (await run<RecordRow>(this.sql.getRecords, [keys])).map((row) => [row.key, toRecord(row)]),
          );
          return keys.map((key) => rows.get(key));
        },
        listRecords: (q) => this.listOn(run, q),
        lastSeq: () => seq,
      });
      await run({ text: "COMMIT" }, []);
      return result;
    } catch (err) {
      if (!lost)
        await client.query("ROLLBACK").catch((e: unknown) => (lost = e instanceof Error ? e : new Error(String(e))));
      throw err;
    } finally {
      client.removeListener("error", onError);
      client.release(lost);
    }
  }

  /**
   * Begins the snapshot and returns its seq. The floor and the registrations are read first, before BEGIN
   * (`snapshotBounds` says why); the snapshot is taken by the first statement after BEGIN, so the seq names the
   * state read after it; BEGIN and the seq go in one round trip. Seqs are taken in one order and may commit
   * in another (events.ts), so a snapshot can see seq 8 committed while seq 7 is still in flight: that state is no
   * prefix of the log. Such a snapshot is dropped and taken again once the store's seq takers have settled: a
   * snapshot is kept only when no visible event lies beyond its last settled seq.
   */
  private settledSnapshot(run: Run): Promise<number> {
    return withBackoff(
      async () => {
        await run({ text: this.eventSql.snapshotBounds }, []);
        const [row] = await run<{ seq: string; newest: string }>(
          { text: `${SNAPSHOT_BEGIN};\n${this.eventSql.snapshotSeq}` },
          [],
        );
        if (row!.newest === row!.seq) return Number(row!.seq);
        await run({ text: "ROLLBACK" }, []);
        throw new UnsettledSnapshotError();
      },
      (err) => err instanceof UnsettledSnapshotError,
      { retries: 200, baseMs: 1, maxMs: 50 },
    );
  }

  private async listOn(run: Run, q: ListQuery): Promise<StoredRecord[]> {
    // Keys hold no control characters, so "after" cut at a NUL selects the same keys (and Postgres text has no NUL).
    const after = (q.after ?? "").split("\u0000")[0]!;
    const end = prefixEnd(q.prefix);
    const rows =
      end === null
        ? await run<RecordRow>(this.sql.listFrom, [q.prefix, after, q.includeDeleted, q.limit])
        : await run<RecordRow>(this.sql.list, [q.prefix, end, after, q.includeDeleted, q.limit]);
    return rows.map(toRecord);
  }

  /**
   * Settled events only (events.ts): never one after a seq that a transaction still in flight may fill. When events
   * are held back that way, the transaction they wait on may end without a NOTIFY (a rollback, a transaction that
   * appended nothing, one in another database), so local watchers are woken again shortly, backing off to
   * `HELD_RECHECK_MS.max`, until nothing is held.
   */
  async readEvents(q: { prefix: string; afterSeq: number; limit: number }): Promise<StateEvent[]> {
    const rows = await this.gate.run(() =>
      this.lastResult<EventRow>(
        this.eventSql.read({ after: q.afterSeq, from: q.prefix, to: prefixEnd(q.prefix), limit: q.limit }),
      ),
    );
    this.heldBack(rows[0]?.held ?? false);
    return rows
      .filter((r) => r.seq !== null)
      .map((r) => ({
        seq: Number(r.seq),
        ts: Number(r.ts),
        key: r.key,
        version: Number(r.version),
        epoch: Number(r.epoch),
        outcome: r.outcome,
        ...(r.owner !== null && { owner: r.owner }),
        ...(r.op_id !== null && { opId: r.op_id }),
      }));
  }

  /** The last settled seq: every event at or below it is final, none can still appear (events.ts). */
  async lastSeq(): Promise<number> {
    return Number((await this.gate.run(() => this.lastResult<{ seq: string }>(this.eventSql.lastSeq)))[0]!.seq);
  }

  /** `listener` runs after commits of this process at once, and after other hosts' commits via LISTEN/NOTIFY. */
  subscribe(listener: () => void): () => void {
    const remove = this.listeners.add(listener);
    if (++this.subscribers === 1 && !this.gate.closed) void this.commitListener.start();
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      remove();
      if (--this.subscribers === 0) void this.commitListener.stop();
    };
  }

  purge(q: { idempotencyBefore: number; maxEvents: number }): Promise<void> {
    // Seqs come from a sequence, never from the rows left: none is handed out again after a purge.
    return this.gate.run(async () => {
      await this.statement(this.sql.purgeIdem, [q.idempotencyBefore]);
      await this.lastResult(this.eventSql.purge(q.maxEvents));
    });
  }

  /**
   * Waits for every call issued before it, then closes the pool and the LISTEN connection. Later calls get `CLOSED`.
   * Safe to call twice.
   */
  close(): Promise<void> {
    return this.gate.close(async () => {
      clearTimeout(this.recheck.timer);
      while (this.notifyInFlight) await this.notifyInFlight;
      await Promise.all([this.commitListener.stop(), this.pool.end()]);
    });
  }

  private heldBack(held: boolean): void {
    if (!held) {
      this.recheck.delayMs = HELD_RECHECK_MS.first;
      return;
    }
    if (this.recheck.timer !== undefined || this.gate.closed) return;
    this.recheck.timer = setTimeout(() => {
      this.recheck.timer = undefined;
      this.listeners.notify();
    }, this.recheck.delayMs);
    this.recheck.timer.unref();
    this.recheck.delayMs = Math.min(HELD_RECHECK_MS.max, this.recheck.delayMs * 2);
  }

  /** One statement on a pooled connection, as a call in flight (see `close`). */
  private query<R extends pg.QueryResultRow>(
    statement: { name: string; text: string },
    values: unknown[],
  ): Promise<R[]> {
    return this.gate.run(() => this.statement<R>(statement, values));
  }

  /** Several statements in one round trip (the simple-query protocol: literals, no parameters); the last one's rows. */
  private async lastResult<R extends pg.QueryResultRow>(batch: string): Promise<R[]> {
    try {
      const out = (await this.pool.query<R>(batch)) as unknown as pg.QueryResult<R> | pg.QueryResult<R>[];
      return (Array.isArray(out) ? out.at(-1)! : out).rows;
    } catch (err) {
      throw storeError(err);
    }
  }

  private async statement<R extends pg.QueryResultRow>(
    statement: { name?: string; text: string },
    values: unknown[],
  ): Promise<R[]> {
    try {
      return (await this.pool.query<R>({ ...statement, values })).rows;
    } catch (err) {
      throw storeError(err);
    }
  }
}

/** Runs one statement (or several, without values) and answers the rows of the last; failures come back typed (`storeError`). */
type Run = <R extends pg.QueryResultRow>(statement: { name?: string; text: string }, values: unknown[]) => Promise<R[]>;

function toRecord(r: RecordRow): StoredRecord {
  return {
    key: r.key,
    valueText: r.value,
    version: Number(r.version),
    epoch: Number(r.epoch),
    updatedAt: Number(r.updated_at),
  };
}

/** A snapshot that saw a commit beyond its last settled seq: taken again (with backoff), `UNAVAILABLE` if it never settles. */
class UnsettledSnapshotError extends UnavailableError {
  constructor() {
    super({ cause: "the event log did not settle for a snapshot (writers kept seqs in flight)" });
  }
}
