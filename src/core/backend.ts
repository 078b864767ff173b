/**
 * The backend contract. Backends store; they do not decide: every rule (version, epoch, idempotency, limits) lives in
 * `commit` and `claims`, which run inside `Backend.transact`. Each backend passes the one conformance suite in
 * `test/core/conformance.test.ts`.
 */
import type { CheckpointReader, CheckpointTx } from "./checkpoints.js";
import type { StateEvent } from "./schemas.js";

export type Awaitable<T> = T | Promise<T>;

/**
 * Whether a backend's answer is still to come. A synchronous backend (SQLite) answers a transaction's reads and writes
 * at once, and awaiting each answer anyway cost a promise and a microtask apiece: 36 promises per commit, and ~1.5 µs
 * more per commit once LangGraph has turned on async hooks in the process (AsyncLocalStorage). So `commit` awaits an
 * answer only when it is pending; the order of every read and write is the same either way.
 */
export function isPending<T>(value: Awaitable<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === "function";
}

/** A key's stored row. `valueText` is the value's JSON text, or `null` for a deleted key (a tombstone). */
export interface StoredRecord {
  key: string;
  valueText: string | null;
  version: number;
  epoch: number;
  updatedAt: number;
}

/** A key's claim row. It outlives release (owner `null`) so the epoch only ever grows. */
export interface StoredClaim {
  key: string;
  owner: string | null;
  epoch: number;
  expiresAt: number;
}

/** What `commit` needs to decide about one key. */
export interface KeyState {
  record?: StoredRecord;
  claim?: StoredClaim;
}

/** The first result of an opId, kept for replays. `resultText` is the JSON of the `TxnResult`. */
export interface IdempotencyRecord {
  opId: string;
  hash: string;
  resultText: string;
  createdAt: number;
}

/** What a transaction holds before it reads (`BackendTx.lock`). */
export interface LockScope {
  keys: readonly string[];
  readOnly?: readonly string[];
  fenceOnly?: readonly string[];
  claims?: boolean;
  opId?: string;
}

/**
 * Reads and writes inside one transaction. Methods may return plain values (SQLite, memory) or promises (Postgres);
 * callers always `await` them. A transaction sees its own writes.
 */
export interface BackendTx {
  /**
   * Optional. `commit` calls it first, before any read, with every key of the request and its opId. A backend that
   * locks per key (Postgres) takes all of these locks here in one global order, so two txns naming the same keys in
   * different orders cannot deadlock. Backends whose `transact` already excludes every other writer omit it.
   * `readOnly` names the keys among `keys` the transaction only reads (guards): a backend may lock those shared, so
   * commits that only check the same guard (LangGraph's pending writes under one run fence) do not wait for each other.
   * `fenceOnly` names the keys among `readOnly` of which the transaction reads only the claim (epoch guards): a backend
   * that locks a key's claim apart from its record may lock just the claim, shared, so such a commit does not wait for
   * one that writes the key's record either (a LangGraph put and its run's pending writes). `claims`: the transaction
   * writes the claims of `keys` (claim, renew, release), so it locks their claims too, exclusively.
   */
  lock?(scope: LockScope): Awaitable<void>;
  getKeyState(key: string): Awaitable<KeyState>;
  putRecord(record: StoredRecord): Awaitable<void>;
  putClaim(claim: StoredClaim): Awaitable<void>;
  getIdempotency(opId: string): Awaitable<IdempotencyRecord | undefined>;
  putIdempotency(record: IdempotencyRecord): Awaitable<void>;
  /**
   * A fencing epoch for a claim: greater than `atLeast` (the key's current epoch) and than every epoch this store
   * handed out before, on any key, so an epoch names one claim of one key (G2: tokens bound to their claim). A backend
   * keeps one store-wide counter; a rolled-back transaction may leave a gap, never a repeat.
   */
  nextEpoch(atLeast: number): Awaitable<number>;
  /**
   * Appends to the event log and answers the new sequence number. With `atCommit`, the caller does not need the seq
   * before the transaction ends: a backend that batches writes may send the row with its COMMIT and answer only then
   * (Postgres: one round trip less per commit), so the caller awaits the answer after `transact`, never inside it.
   * The answer never settles before the row is written; if the transaction fails it may never settle.
   */
  appendEvent(event: Omit<StateEvent, "seq">, options?: { atCommit?: boolean }): Awaitable<number>;
  /** Checkpoint rows, for backends that keep lineages (see `CheckpointTx`); written only by a commit's extra rows (`commitWithRows`). */
  readonly checkpoints?: CheckpointTx;
}

/** What `listRecords` selects: records whose key starts with `prefix`, strictly after `after`, by key. */
export interface ListQuery {
  prefix: string;
  after?: string;
  limit: number;
  includeDeleted: boolean;
}

/**
 * Reads at one committed state: every call sees the same snapshot, the one `lastSeq` names (every event with a seq up
 * to it is reflected, none after). Methods may return plain values (SQLite, memory) or promises (Postgres).
 */
export interface SnapshotReader {
  /** Each key's record, in the order given (`undefined` for a key never written). */
  getRecords(keys: readonly string[]): Awaitable<(StoredRecord | undefined)[]>;
  listRecords(query: ListQuery): Awaitable<StoredRecord[]>;
  /** The event-log position of this snapshot: the last seq handed out to an event it reflects (0 when none). */
  lastSeq(): Awaitable<number>;
}

/** How long idempotency records and events are kept. */
export interface Retention {
  /** Idempotency records older than this (ms, > 0) are dropped (a retry later than this may apply twice). Default 24 h. */
  idempotencyMs: number;
  /** The event log keeps at most this many newest events (a whole number, at least 1). Default 100,000. */
  maxEvents: number;
}

export const DEFAULT_RETENTION: Retention = { idempotencyMs: 24 * 3600 * 1000, maxEvents: 100_000 };

/**
 * Storage engine under a `StateStore`. Besides `transact`'s isolation, every backend keeps these (each is tested on
 * every backend: test/core/read-isolation.test.ts, event-log.test.ts, lifecycle.test.ts):
 * - Read isolation (G1): a read outside a transaction (`getRecord`, `listRecords`, `readEvents`, `lastSeq`, the
 *   checkpoint reads) sees committed state only — never the writes of a transaction that is still open, which may
 *   roll back.
 * - Event seqs strictly increase, forever: a seq is never handed out twice, whatever was purged or rolled back, and an
 *   event becomes visible only with its transaction's commit. Seq order need not be commit order (Postgres: the order
 *   seqs were taken; a rolled-back seq is a gap that never fills), but `readEvents` never returns a seq after a gap
 *   that a later commit fills: once it returned seq n, no event with a smaller seq appears afterwards.
 * - `close()` waits for every call issued before it; every call after it rejects with `ClosedError` (`CLOSED`).
 */
export interface Backend {
  readonly kind: "memory" | "sqlite" | "postgres" | (string & {});
  /**
   * Runs `fn` in a transaction that is serializable with respect to every other `transact` on the same data, in
   * this process and in others. Commits when `fn` resolves, rolls back when it throws. The body awaits only `tx`
   * calls; backend failures surface as `UnavailableError` (outcome unknown: retry with the same opId).
   */
  transact<T>(fn: (tx: BackendTx) => Promise<T>): Promise<T>;
  getRecord(key: string): Promise<StoredRecord | undefined>;
  getClaim(key: string): Promise<StoredClaim | undefined>;
  /** Records whose key starts with `prefix`, strictly after `after`, ordered by key (UTF-8 byte order). */
  listRecords(query: ListQuery): Promise<StoredRecord[]>;
  /**
   * Runs `fn` over one snapshot of committed state (docs/snapshots.md): its reads never see part of a transaction, nor
   * anything committed after the snapshot was taken, and `lastSeq` is the snapshot's event-log position. The body
   * awaits only `r` calls and should be short: a snapshot may hold a connection (Postgres) or pin the WAL (SQLite).
   * Writers are never blocked by it.
   */
  snapshot<T>(fn: (r: SnapshotReader) => Promise<T>): Promise<T>;
  /** Events with `seq > afterSeq` whose key starts with `prefix`, oldest first. */
  readEvents(query: { prefix: string; afterSeq: number; limit: number }): Promise<StateEvent[]>;
  /**
   * The highest seq `readEvents` may return now: every committed event at or below it is final and none can still
   * appear there; it stays when retention purges that event (0 when there has been none).
   */
  lastSeq(): Promise<number>;
  /** Called after commits land (locally, and across hosts where the backend can tell); returns an unsubscribe. */
  subscribe(listener: () => void): () => void;
  /**
   * Drops idempotency records created before `idempotencyBefore` and all but the newest `maxEvents` (at least 1)
   * events. Later events still get seqs above every seq handed out before.
   */
  purge(query: { idempotencyBefore: number; maxEvents: number }): Promise<void>;
  /** Waits for the calls issued before it, then releases connections; later calls get `CLOSED`. Safe to call twice. */
  close(): Promise<void>;
  /** Checkpoint storage for lineages (the LangGraph saver); absent on backends that do not keep them. */
  readonly checkpoints?: CheckpointReader;
}
