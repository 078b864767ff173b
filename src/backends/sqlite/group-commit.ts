/**
 * Group commit for a single-connection backend: transactions that wait for the connection while another runs are run
 * together, each inside its own savepoint, in one database transaction, so one BEGIN, one COMMIT and one write of
 * the shared pages (the event log's tail, index tails) serve them all. Each transaction still runs alone, in call
 * order, and sees the writes of those before it, exactly as if each had been committed on its own; a transaction
 * that throws is rolled back to its savepoint, alone. Every caller is answered only after the COMMIT that holds its
 * writes has landed (G5: an acknowledged commit is durable); if that COMMIT fails, every transaction of the group
 * fails with the same error and none of them landed.
 *
 * A group's transaction stays open across awaits (the bodies are async), so the connection is shared state: while a
 * group is open, only the group itself (`GroupStatements`) and the body it is running (through `Tx`) may use the
 * connection; `exclusive` bodies run only between groups. Anyone else reading on it would see writes that are not
 * committed and may still roll back (a member's savepoint, a failed COMMIT): reads outside a transaction belong on
 * another connection (sqlite-writer.ts says who holds this one). And no other connection of this process may wait
 * synchronously for the write lock a group holds: it would block the very event loop the group needs to finish.
 */
/** The statements a group needs from its connection. Each throws what the driver throws. */
export interface GroupStatements {
  begin(): void;
  commit(): void;
  rollback(): void;
  savepoint(): void;
  release(): void;
  rollbackToSavepoint(): void;
  /** Whether a transaction is open (the database may roll one back by itself on disk full or I/O errors). */
  inTransaction(): boolean;
}

export interface GroupCommitOptions {
  /** Most transactions in one group. */
  maxSize: number;
  /** No transaction joins a group that has held the write lock this long (other processes are waiting for it). */
  maxMs: number;
  /** Turns a driver failure into the error callers get; called with the error a body or a statement threw. */
  mapError(err: unknown): unknown;
  /** Called after each group lands, with the number of transactions it held (failed ones included). */
  onCommit(transactions: number): void;
}

/** A body waiting to run, and how to answer its caller. */
interface Queued<Body> {
  body: Body;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

/** A transaction waiting for a group. */
type Waiting<Tx> = Queued<(tx: Tx) => Promise<unknown>>;
/** A body that runs between groups. */
type Exclusive = Queued<() => Promise<unknown>>;

type Outcome<Tx> =
  | { waiting: Waiting<Tx>; ok: true; value: unknown }
  | { waiting: Waiting<Tx>; ok: false; error: unknown };

export class GroupCommit<Tx> {
  private readonly waiting: Waiting<Tx>[] = [];
  private readonly exclusives: Exclusive[] = [];
  /** `drain` is running: it runs exclusive bodies first, then waiting transactions in groups, until nothing is left. */
  private draining = false;
  /** A start is queued as a microtask. */
  private scheduled = false;
  /** A start is queued for the end of this event-loop turn (`gather`). */
  private gathering = false;

  constructor(
    private readonly tx: Tx,
    private readonly sql: GroupStatements,
    private readonly options: GroupCommitOptions,
  ) {}

  /**
   * Runs `body` in a transaction (possibly grouped with others); resolves once its writes are committed.
   *
   * By default a group starts at once (in a microtask): a lone caller's commit lands as soon as it would without
   * grouping, and transactions issued together (`Promise.all`) still share a group. With `gather`, the group starts
   * at the end of this turn of the event loop instead, so that transactions arriving in separate callbacks of one
   * turn share it: a server reads each ready socket in a callback of its own, and without `gather` each request's
   * transaction ran alone (measured: 16 keep-alive HTTP clients, one transaction per group). A gathered transaction
   * waits for the event loop, so it is for callers driven by I/O; code that awaits in-process reads in a loop never
   * lets the turn end (see docs/sqlite.md, "Group commit").
   */
  run<T>(body: (tx: Tx) => Promise<T>, options: { gather?: boolean } = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.waiting.push({ body, resolve: resolve as (v: unknown) => void, reject });
      if (options.gather) {
        if (!this.gathering) {
          this.gathering = true;
          setImmediate(() => {
            this.gathering = false;
            this.start();
          });
        }
      } else if (!this.scheduled) {
        this.scheduled = true;
        queueMicrotask(() => {
          this.scheduled = false;
          this.start();
        });
      }
    });
  }

  /**
   * Runs `body` between groups (closing the connection, a WAL rewind): once no group is running, before any group that
   * starts later. Under a steady stream of transactions it still runs right after the current group.
   */
  exclusive<T>(body: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.exclusives.push({ body, resolve: resolve as (v: unknown) => void, reject });
      this.start();
    });
  }

  /** Starts draining unless a drain is running (it will reach what was just added). */
  private start(): void {
    if (!this.draining) void this.drain();
  }

  /**
   * Runs exclusive bodies and waiting transactions (in groups), one at a time, exclusive bodies first: one asked for
   * while a group runs goes right after it, so a steady stream of transactions never holds it back. One loop instead
   * of a queue of drains: a lone commit costs two promises here (this drain and its group), not five.
   */
  private async drain(): Promise<void> {
    this.draining = true;
    try {
      for (;;) {
        if (this.exclusives.length > 0) {
          const exclusive = this.exclusives.shift()!;
          try {
            exclusive.resolve(await exclusive.body());
          } catch (err) {
            exclusive.reject(err);
          }
        } else if (this.waiting.length > 0) await this.group();
        else return;
      }
    } finally {
      this.draining = false;
    }
  }

  /** One database transaction holding as many waiting transactions as the limits allow. */
  private async group(): Promise<void> {
    const outcomes: Outcome<Tx>[] = [];
    try {
      this.sql.begin();
    } catch (err) {
      const error = this.options.mapError(err);
      for (const w of this.waiting.splice(0)) w.reject(error);
      return;
    }
    const started = performance.now();
    while (
      this.waiting.length > 0 &&
      outcomes.length < this.options.maxSize &&
      performance.now() - started < this.options.maxMs
    ) {
      const waiting = this.waiting.shift()!;
      // The first transaction of a group needs no savepoint: if it fails, the whole transaction is rolled back.
      const first = outcomes.length === 0;
      try {
        if (!first) this.sql.savepoint();
        const value = await waiting.body(this.tx);
        if (!first) this.sql.release();
        outcomes.push({ waiting, ok: true, value });
      } catch (err) {
        const error = this.options.mapError(err);
        if (first || !this.sql.inTransaction()) {
          // Either the lone first transaction failed, or the database rolled the whole group back by itself (disk
          // full, I/O error): nothing of this group landed.
          if (this.sql.inTransaction()) this.sql.rollback();
          waiting.reject(error);
          for (const o of outcomes) o.waiting.reject(o.ok ? error : o.error);
          return;
        }
        this.sql.rollbackToSavepoint();
        this.sql.release();
        outcomes.push({ waiting, ok: false, error });
      }
    }
    try {
      this.sql.commit();
    } catch (err) {
      const error = this.options.mapError(err);
      if (this.sql.inTransaction()) this.sql.rollback();
      for (const o of outcomes) o.waiting.reject(o.ok ? error : o.error);
      return;
    }
    this.options.onCommit(outcomes.length);
    for (const o of outcomes) {
      if (o.ok) o.waiting.resolve(o.value);
      else o.waiting.reject(o.error);
    }
  }
}
