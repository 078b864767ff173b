/**
 * One Postgres transaction as the core sees it (`BackendTx`). It runs under PostgreSQL's default READ COMMITTED
 * isolation and stays correct there because every read the core decides on comes after the lock that guards it:
 * - a key's advisory lock is taken before its state is read, and held to commit, so no other transaction can change
 *   that key (or create it, when it is missing) between the read and the write; a commit that reads only the key's
 *   claim (an epoch guard) holds the claim's lock instead, which every claim operation takes too (`prepare`);
 * - an opId's advisory lock is taken before its idempotency row is read, so two retries of one opId run one after
 *   the other and the second one sees the first one's result;
 * - locks and reads are separate statements: under READ COMMITTED each statement takes a fresh snapshot, so a read
 *   sees everything committed by the lock's previous holder.
 *
 * Round trips are what a commit costs across hosts, so statements are batched: BEGIN, the locks and every read go
 * out together; writes wait and travel with the next statement that needs an answer, usually COMMIT. Appending an
 * event is one statement that takes the seq (events.ts) and inserts the row; the core needs its answer inside the
 * transaction only for an opId's record (which keeps the result), so otherwise it travels with the COMMIT too
 * (`atCommit`), and so does the LangGraph saver's checkpoint row (`existing: "fail"`: an id the lineage has fails the
 * batch instead of answering). A one-key commit without an opId, and a saver put, take two round trips (BEGIN +
 * locks + reads; record + event [+ checkpoint row and values] + COMMIT); with an opId, three (the event's seq is
 * answered before the record). The NOTIFY of a commit that appended follows without being waited for
 * (`notifyCommitted`). Nothing is held across transactions but the key and opId locks: the seq's critical section
 * ends inside the statement that takes it.
 */
import type pg from "pg";
import type {
  BackendTx,
  IdempotencyRecord,
  KeyState,
  LockScope,
  StoredClaim,
  StoredRecord,
} from "../../core/backend.js";
import { CheckpointExistsError, type CheckpointRow, type CheckpointTx } from "../../core/checkpoints.js";
import { UnavailableError } from "../../core/errors.js";
import type { StateEvent } from "../../core/schemas.js";
import { isConnectionFailure, isUniqueViolation } from "./errors.js";
import { lockId, lockOrder } from "./locks.js";
import type { CheckpointTxSql } from "./checkpoints.js";
import type { EventSql } from "./events.js";
import type { TxSql } from "./sql.js";

/** A statement waiting to be sent, and who wants its result. */
interface Pending {
  sql: string;
  answer?: (result: pg.QueryResult) => void;
}

interface KeyStateRow {
  key: string;
  value: string | null;
  version: string | null;
  r_epoch: string | null;
  updated_at: string | null;
  owner: string | null;
  c_epoch: string | null;
  expires_at: string | null;
}

export class PostgresTx implements BackendTx {
  /** Whether this transaction wrote to the event log (then its commit notifies other hosts). */
  appended = false;
  /** Set when the connection failed or may be unusable: it is then destroyed, not returned to the pool. */
  lost = false;
  /**
   * The checked-out connection; `undefined` once it went back to the pool. pg-pool throws if a client is released
   * twice, and that untyped error would replace the `UNAVAILABLE` the caller must see (G6), so `release` is the
   * only place that hands a client back, and it clears this first.
   */
  private client: pg.PoolClient | undefined;
  /** Advisory locks taken, by id, and how. */
  private readonly held = new Map<string, "shared" | "exclusive">();
  /** What this transaction read under its locks, updated by its own writes: "a transaction sees its own writes". */
  private readonly states = new Map<string, KeyState>();
  private readonly idempotency = new Map<string, IdempotencyRecord | null>();
  /**
   * Statements not sent yet; they go out in front of the next one that needs an answer. `answer`: a statement whose
   * result is wanted once it has been sent (an event's seq appended `atCommit`), handed over in `send`.
   */
  private pending: Pending[] = [{ sql: "BEGIN" }];
  /** The checkpoint this transaction inserted without waiting for the answer (see `insertCheckpoint`). */
  private unanswered: CheckpointRow | undefined;
  /** Nothing but BEGIN, locks, reads and a seq has been sent: a connection found dead now can be replaced. */
  private replaceable = true;
  /** Checkpoint rows (the LangGraph saver), written in this transaction's batch like every other write. */
  readonly checkpoints: CheckpointTx = {
    insertCheckpoint: async (row, blobs, options) => {
      if (options?.existing === "fail") {
        // Sent with the next statement that needs an answer (usually COMMIT): an id the lineage has fails the
        // statement, so nothing of the transaction lands, and `send` reports CheckpointExistsError.
        this.write(this.checkpointSql.insert(row, { existing: "fail" }));
        if (blobs.length > 0) this.write(this.checkpointSql.insertBlobs(row, blobs));
        this.unanswered = row;
        return true;
      }
      const [result] = await this.send([this.checkpointSql.insert(row)]);
      const inserted = result!.rows.length === 1;
      if (inserted && blobs.length > 0) this.write(this.checkpointSql.insertBlobs(row, blobs));
      return inserted;
    },
    putWrites: (ref, writes) => {
      if (writes.length > 0) this.write(this.checkpointSql.putWrites(ref, writes));
    },
    deleteThread: (threadId) => {
      for (const statement of this.checkpointSql.deleteThread(threadId)) this.write(statement);
    },
    deleteCheckpoints: (refs, blobs) => {
      for (const statement of this.checkpointSql.deleteCheckpoints(refs, blobs)) this.write(statement);
    },
    deleteWrites: (ref, writes) => {
      if (writes.length > 0) this.write(this.checkpointSql.deleteWrites(ref, writes));
    },
    setHeadVersion: (ref, headVersion) => this.write(this.checkpointSql.setHeadVersion(ref, headVersion)),
  };

  private constructor(
    private readonly connect: () => Promise<pg.PoolClient>,
    client: pg.PoolClient,
    private readonly schema: string,
    private readonly sql: TxSql,
    private readonly checkpointSql: CheckpointTxSql,
    private readonly eventSql: EventSql,
  ) {
    this.client = client;
    client.on("error", this.onError);
  }

  /**
   * Checks out a connection through `connect` (the backend's: a pooled connection with the statements prepared); the
   * transaction begins with its first statement.
   */
  static async start(
    connect: () => Promise<pg.PoolClient>,
    schema: string,
    sql: TxSql,
    checkpointSql: CheckpointTxSql,
    eventSql: EventSql,
  ): Promise<PostgresTx> {
    return new PostgresTx(connect, await connect(), schema, sql, checkpointSql, eventSql);
  }

  async lock(scope: LockScope): Promise<void> {
    await this.prepare(scope.keys, scope);
  }

  async getKeyState(key: string): Promise<KeyState> {
    await this.prepare([key]);
    // A copy, so the caller cannot change what this transaction knows (the records and claims hold only scalars).
    const { record, claim } = this.states.get(key)!;
    return { ...(record && { record: { ...record } }), ...(claim && { claim: { ...claim } }) };
  }

  async getIdempotency(opId: string): Promise<IdempotencyRecord | undefined> {
    await this.prepare([], { opId });
    return this.idempotency.get(opId) ?? undefined;
  }

  putRecord(record: StoredRecord): void {
    // A row read under the key's lock is still there (records are never deleted): an UPDATE, cheaper than an upsert.
    this.write(this.states.get(record.key)?.record ? this.sql.updateRecord(record) : this.sql.putRecord(record));
    this.states.set(record.key, { ...this.states.get(record.key), record: { ...record } });
  }

  putClaim(claim: StoredClaim): void {
    this.write(this.sql.putClaim(claim));
    this.states.set(claim.key, { ...this.states.get(claim.key), claim: { ...claim } });
  }

  putIdempotency(record: IdempotencyRecord): void {
    this.write(this.sql.putIdempotency(record));
    this.idempotency.set(record.opId, { ...record });
  }

  async nextEpoch(atLeast: number): Promise<number> {
    const [result] = await this.send([this.sql.nextEpoch(atLeast)]);
    return Number((result!.rows[0] as { epoch: string }).epoch);
  }

  /**
   * Takes a seq and inserts the event row, in one statement; `atCommit`, it travels with the next statement that needs
   * an answer (usually COMMIT) and the seq is answered then.
   */
  appendEvent(e: Omit<StateEvent, "seq">, options?: { atCommit?: boolean }): Promise<number> {
    // Taken only when an event is appended, never ahead: a transaction that appends nothing (a renewal, a refused or
    // replayed commit) must not use up a seq, or the same calls would number their events differently here than on
    // the other backends.
    this.appended = true;
    const seqOf = (result: pg.QueryResult) => Number((result.rows[0] as { seq: string }).seq);
    if (!options?.atCommit) return this.send([this.eventSql.append(e)]).then(([result]) => seqOf(result!));
    return new Promise<number>((resolve) => {
      this.write(this.eventSql.append(e), (result) => resolve(seqOf(result)));
    });
  }

  /**
   * Sends the pending writes and COMMIT in one round trip. A transaction that appended also sends `listenProbe`
   * before its COMMIT (notify.ts, `notifySql`); answers whether it found a listener (false when it did not ask).
   */
  async commit(listenProbe: string): Promise<boolean> {
    const probe = this.appended;
    const results = await this.send(probe ? [listenProbe, "COMMIT"] : ["COMMIT"]);
    const tag = results.at(-1)?.command;
    // COMMIT of a transaction a failed statement aborted reports ROLLBACK instead of failing.
    if (tag !== "COMMIT") throw new UnavailableError({ cause: `transaction was rolled back (${tag})` });
    return probe && (results[0]!.rows[0] as { listened: boolean }).listened;
  }

  /**
   * After a COMMIT that appended, sends `notify` (a `NOTIFY` in a transaction of its own) on the same connection
   * without waiting for it: the caller goes on while it runs, and whoever takes the connection next queues behind it.
   * Not inside the committed transaction: a notifying transaction holds the database's one notification-queue lock
   * from its COMMIT until its commit record is flushed, which would serialize every commit of every host on the
   * fsync. It runs only after COMMIT succeeded, commits asynchronously, and reaches listeners after the event is
   * visible; a notification lost (a crash, a dropped connection) costs a watcher one poll. The promise never rejects.
   */
  notifyCommitted(notify: string): Promise<void> {
    const client = this.client;
    if (!client) return Promise.resolve();
    return client.query(notify).then(
      () => undefined,
      () => undefined,
    );
  }

  /** Rolls back after a failure (a no-op when nothing was begun); a connection that cannot is marked lost. */
  async rollback(): Promise<void> {
    if (this.lost || !this.client) return; // the server ends the transaction with the session
    await this.client.query("ROLLBACK").catch(() => (this.lost = true));
  }

  /** Returns the connection to the pool, or destroys it when it may be unusable. Safe to call again. */
  release(): void {
    const client = this.client;
    if (!client) return;
    this.client = undefined;
    client.removeListener("error", this.onError);
    client.release(this.lost);
  }

  /** The connection this transaction runs on; after a failed replacement there is none (outcome: UNAVAILABLE). */
  private connection(): pg.PoolClient {
    if (!this.client) throw new UnavailableError({ cause: "connection lost: this transaction has no connection" });
    return this.client;
  }

  /** A connection that drops between queries emits "error"; without a listener Node would crash. */
  private readonly onError = () => {
    this.lost = true;
  };

  /**
   * Takes the locks of `keys` and the opId not yet held, in the global order, then reads what is not yet known.
   * Every lock is waited for: the core names every key up front (`lock`), so a later call only re-reads. A key has two
   * locks: its record's ("key"), which every commit that reads or writes the record holds (shared when it only reads
   * it), and its claim's ("claim"), which only claim operations (exclusive, with the key's) and epoch-only guards
   * (shared, without the key's) take. So a commit that writes a key excludes claims of it, as a claim excludes every
   * commit that checks the claim, while a commit that only checks the key's fence waits for neither the key's writers
   * nor its fellows: LangGraph's pending writes do not hold back the run's next put.
   */
  private async prepare(keys: readonly string[], scope: Omit<LockScope, "keys"> = {}): Promise<void> {
    const { opId, claims = false } = scope;
    const readOnly = new Set(scope.readOnly);
    const fenceOnly = new Set(scope.fenceOnly);
    const ids: string[] = [];
    const shared = new Set<string>();
    const unread: string[] = [];
    for (const k of new Set(keys)) {
      // A key read under one of its locks stays held: a later read of it takes no other lock.
      if (this.states.has(k)) continue;
      unread.push(k);
      const fence = fenceOnly.has(k);
      const id = lockId(this.schema, fence ? "claim" : "key", k);
      ids.push(id);
      if (fence || readOnly.has(k)) shared.add(id);
      if (claims) ids.push(lockId(this.schema, "claim", k));
    }
    if (opId !== undefined) ids.push(lockId(this.schema, "op", opId));
    const missing = lockOrder(ids.filter((id) => !this.held.has(id)));
    const readOp = opId !== undefined && !this.idempotency.has(opId);
    const statements = [
      ...(missing.length > 0 ? [this.sql.lock(missing, (id) => shared.has(id))] : []),
      ...(unread.length > 0 ? [this.sql.keyStates(unread)] : []),
      ...(readOp ? [this.sql.idempotency(opId)] : []),
    ];
    if (statements.length === 0) return;
    const results = await this.send(statements);
    let next = missing.length > 0 ? 1 : 0;
    for (const id of missing) this.held.set(id, shared.has(id) ? "shared" : "exclusive");
    if (unread.length > 0) {
      for (const row of results[next++]!.rows as KeyStateRow[]) this.states.set(row.key, toKeyState(row));
    }
    if (readOp) {
      const row = results[next++]!.rows[0] as { hash: string; result: string; created_at: string } | undefined;
      this.idempotency.set(
        opId,
        row ? { opId, hash: row.hash, resultText: row.result, createdAt: Number(row.created_at) } : null,
      );
    }
  }

  private write(sql: string, answer?: (result: pg.QueryResult) => void): void {
    this.pending.push(answer ? { sql, answer } : { sql });
    this.replaceable = false;
  }

  /** Sends the pending statements and `statements` in one round trip; returns the results of `statements`. */
  private async send(statements: string[]): Promise<pg.QueryResult[]> {
    const pending = this.pending;
    const batch = [...pending.map((p) => p.sql), ...statements];
    this.pending = [];
    let out: pg.QueryResult | pg.QueryResult[];
    try {
      out = await this.connection().query(batch.join(";\n"));
    } catch (err) {
      if (this.unanswered && isUniqueViolation(err, "checkpoints")) throw new CheckpointExistsError(this.unanswered);
      if (!this.replaceable || !isConnectionFailure(err)) throw err;
      // The connection was dead before anything but BEGIN, locks, reads and a seq reached it: nothing of ours is on
      // the server (a seq taken there is only a gap). Retry once on a fresh connection. If none can be had, the transaction holds no connection (`lost`
      // stays set, so there is nothing to roll back or release) and the caller gets UNAVAILABLE.
      this.replaceable = false;
      this.lost = true;
      this.release();
      const fresh = await this.connect();
      fresh.on("error", this.onError);
      this.client = fresh;
      this.lost = false;
      out = await fresh.query(batch.join(";\n"));
    }
    this.replaceable = false;
    const results = Array.isArray(out) ? out : [out];
    for (const [i, p] of pending.entries()) p.answer?.(results[i]!);
    return results.slice(results.length - statements.length);
  }
}

function toKeyState(row: KeyStateRow): KeyState {
  const state: KeyState = {};
  if (row.version !== null) {
    state.record = {
      key: row.key,
      valueText: row.value,
      version: Number(row.version),
      epoch: Number(row.r_epoch),
      updatedAt: Number(row.updated_at),
    };
  }
  if (row.c_epoch !== null) {
    state.claim = { key: row.key, owner: row.owner, epoch: Number(row.c_epoch), expiresAt: Number(row.expires_at) };
  }
  return state;
}
