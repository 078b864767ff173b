/** `StateStore`: the public face of the core over one backend. Open one with `openStore()`. */
import { randomUUID } from "node:crypto";
import { DEFAULT_RETENTION, type Backend, type Retention, type StoredRecord } from "./backend.js";
import { claim, currentClaim, release, renew } from "./claims.js";
import { commit, commitWithinTxn, txn, type CommitContext, type TxnItem, type WithinCommit } from "./commit.js";
import { isErrorCode } from "./errors.js";
import { watchEvents, type WatchOptions } from "./events.js";
import type { Json } from "./json.js";
import { op } from "./ops.js";
import { withBackoff, type BackoffOptions } from "./retry.js";
import {
  DEFAULT_LIMITS,
  KeySchema,
  ListRequestSchema,
  PrefixSchema,
  type Claim,
  type ClaimRef,
  type ClaimRequest,
  type CommitRequest,
  type CommitResult,
  type Guard,
  type Limits,
  type ListRequest,
  type StateEvent,
  type StateRecord,
  type TxnResult,
} from "./schemas.js";
import { checkKey, parseInput } from "./validate.js";

export interface StateStoreOptions {
  /** Key, value and txn size limits. */
  limits?: Partial<Limits>;
  /** How long idempotency records and events are kept. */
  retention?: Partial<Retention>;
  /** Milliseconds since the epoch; injectable for tests of lease expiry. */
  clock?: () => number;
}

export interface UpdateOptions extends BackoffOptions {
  /** Fencing token, when the caller holds a claim on the key. */
  epoch?: number;
  /** Recorded in the event log. */
  owner?: string;
}

export interface UpdateResult extends CommitResult {
  /** The value `fn` returned, now committed. */
  value: Json;
  /** How many times `fn` ran (1 when there was no conflict). */
  attempts: number;
}

export interface WithClaimOptions {
  owner: string;
  /** Lease length. Default 10 s. */
  ttlMs?: number;
  /** Reclaim from a live holder (it will be fenced). */
  steal?: boolean;
  /** Renewal period. Default a third of `ttlMs`. */
  renewEveryMs?: number;
}

const PURGE_EVERY = 1024;

/**
 * Versioned, fenced shared state. Every write goes through the one `commit` (G1–G4); reads never block writers.
 *
 * @example
 * ```ts
 * const store = await openStore();                       // ./.fenced/state.db
 * const r = await store.read("team/notes");
 * await store.commit({ key: "team/notes", op: op.set(["hello"]), expectVersion: r.version });
 * await store.update("team/count", (n) => ((n as number | undefined) ?? 0) + 1);
 * ```
 */
export class StateStore {
  readonly backend: Backend;
  readonly limits: Limits;
  readonly retention: Retention;
  private readonly ctx: CommitContext;
  private commitsSincePurge = 0;

  constructor(backend: Backend, options: StateStoreOptions = {}) {
    this.backend = backend;
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.retention = { ...DEFAULT_RETENTION, ...options.retention };
    this.ctx = { backend, limits: this.limits, now: options.clock ?? Date.now };
    rowCommitters.set(this, async (request, rows) => {
      const result = await commitWithinTxn(this.ctx, request, rows);
      await this.maybePurge();
      return result;
    });
  }

  /** Milliseconds since the epoch, by this store's clock. */
  now(): number {
    return this.ctx.now();
  }

  /**
   * Commits one request atomically: `VERSION_CONFLICT` if `expectVersion` is stale (G1), `FENCED` if the epoch is
   * not the live claim's (G2), the first result again if the `opId` was seen (G3). `guards` are preconditions on
   * other keys, checked first (docs/guards.md).
   *
   * @example
   * ```ts
   * // Write jobs/a/result only while this worker still holds its claim on jobs/a.
   * await store.commit({ key: "jobs/a/result", op: op.set("done"), guards: [{ key: "jobs/a", epoch: claim.epoch }] });
   * ```
   */
  async commit(request: CommitRequest): Promise<CommitResult> {
    const result = await commit(this.ctx, request);
    await this.maybePurge();
    return result;
  }

  /** Commits several requests on distinct keys, all or nothing (G4), under the txn's `guards` if any. */
  async txn(requests: TxnItem[], options: { opId?: string; guards?: Guard[] } = {}): Promise<TxnResult> {
    const result = await txn(this.ctx, requests, options);
    await this.maybePurge();
    return result;
  }

  /** The key's current state; a key never written reads `{ exists: false, version: 0 }`. */
  async read(key: string): Promise<StateRecord> {
    parseInput(KeySchema, key);
    checkKey(key, this.limits);
    return toStateRecord(key, await this.backend.getRecord(key));
  }

  /** Existing records under a prefix, by key (UTF-8 byte order). Page with `after`. */
  async list(query: ListRequest | string = {}): Promise<StateRecord[]> {
    const q = parseInput(ListRequestSchema, typeof query === "string" ? { prefix: query } : query);
    const rows = await this.backend.listRecords(q);
    return rows.map((r) => toStateRecord(r.key, r));
  }

  /**
   * Read, apply `fn`, commit with `expectVersion`; on `VERSION_CONFLICT` re-read and retry with jittered backoff.
   * Never retries `FENCED`. `fn` must be pure: it may run several times.
   */
  async update(
    key: string,
    fn: (current: Json | undefined, record: StateRecord) => Json | Promise<Json>,
    options: UpdateOptions = {},
  ): Promise<UpdateResult> {
    const { epoch, owner, ...backoff } = options;
    let attempts = 0;
    return withBackoff(
      async () => {
        attempts++;
        const record = await this.read(key);
        const value = await fn(record.exists ? record.value : undefined, record);
        const request: CommitRequest & { opId: string } = { key, op: op.set(value), expectVersion: record.version, opId: randomUUID() };
        if (epoch !== undefined) request.epoch = epoch;
        if (owner !== undefined) request.owner = owner;
        const result = await this.commitRetryingUnavailable(request, backoff.signal);
        return { ...result, value, attempts };
      },
      (err) => isErrorCode(err, "VERSION_CONFLICT"),
      { retries: 50, ...backoff },
    );
  }

  /**
   * Commits, retrying `UNAVAILABLE` (outcome unknown) with the same opId, so the request applies at most once (G3).
   * The request must carry an `opId`.
   */
  async commitRetryingUnavailable(request: CommitRequest & { opId: string }, signal?: AbortSignal): Promise<CommitResult> {
    return withBackoff(
      () => this.commit(request),
      (err) => isErrorCode(err, "UNAVAILABLE"),
      { retries: 5, baseMs: 10, maxMs: 1000, ...(signal && { signal }) },
    );
  }

  /** Claims a key; the returned `epoch` is the fencing token for commits. Throws `CLAIM_HELD` unless `steal`. */
  claim(request: ClaimRequest): Promise<Claim> {
    return claim(this.ctx, request);
  }

  /** Extends a live claim; throws `FENCED` if it was superseded, expired or released. */
  renew(ref: ClaimRef, ttlMs: number): Promise<Claim> {
    return renew(this.ctx, ref, ttlMs);
  }

  /** Releases a claim; `false` when it was no longer current. */
  release(ref: ClaimRef): Promise<boolean> {
    return release(this.ctx, ref);
  }

  /** The live claim on a key, or `null`. */
  currentClaim(key: string): Promise<Claim | null> {
    parseInput(KeySchema, key);
    return currentClaim(this.ctx, key);
  }

  /**
   * Claims `key`, runs `fn(claim, signal)` while renewing the claim in the background, then releases it. If a renewal
   * is fenced (someone reclaimed the key), `signal` aborts with the `FencedError`; commits under the old epoch fail
   * with `FENCED` regardless.
   */
  async withClaim<T>(key: string, fn: (claim: Claim, signal: AbortSignal) => Promise<T>, options: WithClaimOptions): Promise<T> {
    const ttlMs = options.ttlMs ?? 10_000;
    const held = await this.claim({ key, owner: options.owner, ttlMs, ...(options.steal && { steal: true }) });
    // renew and release take a ClaimRef; the schema is strict, so a whole Claim (with expiresAt) would be rejected.
    const ref: ClaimRef = { key: held.key, owner: held.owner, epoch: held.epoch };
    const lost = new AbortController();
    const timer = setInterval(() => {
      this.renew(ref, ttlMs).then(
        () => undefined,
        (err: unknown) => {
          clearInterval(timer);
          lost.abort(err);
        },
      );
    }, options.renewEveryMs ?? Math.max(1, Math.floor(ttlMs / 3)));
    try {
      return await fn(held, lost.signal);
    } finally {
      clearInterval(timer);
      if (!lost.signal.aborted) await this.release(ref);
    }
  }

  /** Every commit outcome under `prefix`, as it happens (SPEC §3 event log). */
  watch(prefix = "", options: WatchOptions = {}): AsyncGenerator<StateEvent> {
    parseInput(PrefixSchema, prefix);
    return watchEvents(this.backend, prefix, options);
  }

  /** One page of the event log: events with `seq >= fromSeq` under `prefix`. */
  events(prefix = "", options: { fromSeq?: number; limit?: number } = {}): Promise<StateEvent[]> {
    parseInput(PrefixSchema, prefix);
    return this.backend.readEvents({ prefix, afterSeq: (options.fromSeq ?? 1) - 1, limit: options.limit ?? 1000 });
  }

  /** Applies the retention policy now (it also runs every 1,024 commits). */
  purge(): Promise<void> {
    return this.backend.purge({
      idempotencyBefore: this.ctx.now() - this.retention.idempotencyMs,
      maxEvents: this.retention.maxEvents,
    });
  }

  close(): Promise<void> {
    return this.backend.close();
  }

  private async maybePurge(): Promise<void> {
    if (++this.commitsSincePurge < PURGE_EVERY) return;
    this.commitsSincePurge = 0;
    // The commit has landed; a failed purge only delays retention, so it is reported, not thrown.
    await this.purge().catch((err: unknown) => process.emitWarning(`fenced-state: purge failed: ${String(err)}`));
  }
}

type RowCommitter = (request: RowCommit, rows: WithinCommit) => Promise<TxnResult>;
const rowCommitters = new WeakMap<StateStore, RowCommitter>();

/** @internal What `commitWithRows` commits: zero or more requests under guards, all or nothing. */
export interface RowCommit {
  requests: TxnItem[];
  guards?: Guard[];
  opId?: string;
}

/**
 * @internal The narrow facet the LangGraph saver writes its checkpoint rows through (not exported from the package
 * root): a txn whose `rows` land in the same transaction once every check in `commit` has passed. `rows` stores; every
 * decision (guards, epochs, versions) is the core's.
 */
export function commitWithRows(store: StateStore, request: RowCommit, rows: WithinCommit): Promise<TxnResult> {
  return rowCommitters.get(store)!(request, rows);
}

function toStateRecord(key: string, row: StoredRecord | undefined): StateRecord {
  if (!row) return { key, exists: false, version: 0, epoch: 0 };
  const base = { key, version: row.version, epoch: row.epoch, updatedAt: row.updatedAt };
  return row.valueText === null ? { ...base, exists: false } : { ...base, exists: true, value: JSON.parse(row.valueText) as Json };
}
