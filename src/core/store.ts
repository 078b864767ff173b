/** `StateStore`: the public face of the core over one backend. Open one with `openStore()`. */
import { newOpId } from "./op-id.js";
import { z } from "zod";
import { DEFAULT_RETENTION, type Backend, type Retention, type StoredRecord } from "./backend.js";
import { claim, currentClaim, release, renew } from "./claims.js";
import { CloseGate } from "./close-gate.js";
import { runEffect, type EffectRequest, type EffectResult } from "./effects.js";
import { commit, commitWithinTxn, txn, type CommitContext, type TxnItem, type WithinCommit } from "./commit.js";
import { InvalidInputError } from "./errors.js";
import { watchEvents, type WatchOptions } from "./events.js";
import type { Json } from "./json.js";
import { op } from "./ops.js";
import { retryConflicts, retryUnavailable, type BackoffOptions } from "./retry.js";
import {
  DEFAULT_LIMITS,
  EventsOptionsSchema,
  FunctionSchema,
  KeySchema,
  ListRequestSchema,
  PrefixSchema,
  ReadManyRequestSchema,
  TxnOptionsSchema,
  UpdateOptionsSchema,
  WatchOptionsSchema,
  WithClaimOptionsSchema,
  type Claim,
  type ClaimRef,
  type ClaimRequest,
  type CommitRequest,
  type CommitResult,
  type EventsOptions,
  type Guard,
  type Limits,
  type ListRequest,
  type Snapshot,
  type StateEvent,
  type StateRecord,
  type TxnResult,
} from "./schemas.js";
import { checkKey, parseInput } from "./validate.js";

export interface StateStoreOptions {
  /** Key, value and txn size limits. */
  limits?: Partial<Limits>;
  /** How long idempotency records and events are kept: positive numbers (`maxEvents` a whole one), else `INVALID_INPUT`. */
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
 * Each method's arguments as one object: a null, missing or mistyped argument or option is `INVALID_INPUT` naming it
 * (e.g. `options.limit`), on every backend alike, before anything runs (issue 13 item 11).
 */
const Args = {
  txn: z.object({ options: TxnOptionsSchema.optional() }),
  update: z.object({ key: KeySchema, fn: FunctionSchema, options: UpdateOptionsSchema.optional() }),
  commitRetrying: z.object({
    request: z.looseObject({ opId: z.string() }),
    signal: z.instanceof(AbortSignal).optional(),
  }),
  withClaim: z.object({ key: KeySchema, fn: FunctionSchema, options: WithClaimOptionsSchema }),
  readMany: ReadManyRequestSchema,
  watch: z.object({ prefix: PrefixSchema, options: WatchOptionsSchema.optional() }),
  events: z.object({ prefix: PrefixSchema, options: EventsOptionsSchema.optional() }),
};

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
  private readonly gate = new CloseGate();
  private commitsSincePurge = 0;

  /** Throws `INVALID_INPUT` for retention options that are not positive. */
  constructor(backend: Backend, options: StateStoreOptions = {}) {
    this.backend = backend;
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.retention = resolveRetention(options.retention);
    this.ctx = { backend, limits: this.limits, now: options.clock ?? Date.now };
    rowCommitters.set(this, (request, rows) =>
      this.gate.run(() => this.thenPurge(commitWithinTxn(this.ctx, request, rows))),
    );
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
  commit(request: CommitRequest): Promise<CommitResult> {
    return this.gate.run(() => this.commitOpen(request));
  }

  /** Commits several requests on distinct keys, all or nothing (G4), under the txn's `guards` if any. */
  txn(requests: TxnItem[], options: { opId?: string; guards?: Guard[] } = {}): Promise<TxnResult> {
    return this.gate.run(() => {
      parseInput(Args.txn, { options });
      return this.thenPurge(txn(this.ctx, requests, options));
    });
  }

  /** The key's current state, as last committed; a key never written reads `{ exists: false, version: 0 }`. */
  read(key: string): Promise<StateRecord> {
    return this.gate.run(() => this.readOpen(key));
  }

  /** Existing records under a prefix, by key (UTF-8 byte order). Page with `after`. */
  list(query: ListRequest | string = {}): Promise<StateRecord[]> {
    return this.gate.run(async () => {
      const rows = await this.backend.listRecords(listQuery(query));
      return rows.map((r) => toStateRecord(r.key, r));
    });
  }

  /**
   * Several keys at one snapshot (docs/snapshots.md): records in the order asked, a key never written as
   * `{ exists: false, version: 0 }` like `read`, and `seq`, the event-log position they reflect. A txn is in all of
   * them or in none: no torn pair. At most 1,000 keys.
   *
   * @example
   * ```ts
   * const { seq, records: [from, to] } = await store.readMany(["accounts/a", "accounts/b"]);
   * ```
   */
  readMany(keys: string[]): Promise<Snapshot> {
    return this.gate.run(async () => {
      parseInput(Args.readMany, { keys });
      for (const [i, key] of keys.entries()) checkKey(key, this.limits, ["keys", i]);
      return this.backend.snapshot(async (r) => {
        const seq = await r.lastSeq();
        const rows = await r.getRecords(keys);
        return { seq, records: keys.map((key, i) => toStateRecord(key, rows[i])) };
      });
    });
  }

  /**
   * `list`, with the event-log position the page reflects: `{ seq, records }` (docs/snapshots.md). One page is one
   * snapshot; the next page (`after`) is another, at its own `seq`.
   */
  listSnapshot(query: ListRequest | string = {}): Promise<Snapshot> {
    return this.gate.run(async () => {
      const q = listQuery(query);
      return this.backend.snapshot(async (r) => {
        const seq = await r.lastSeq();
        const rows = await r.listRecords(q);
        return { seq, records: rows.map((row) => toStateRecord(row.key, row)) };
      });
    });
  }

  /**
   * Read, apply `fn`, commit with `expectVersion`; on `VERSION_CONFLICT` re-read and retry with jittered backoff.
   * Never retries `FENCED`. `fn` must be pure: it may run several times. The read sees committed state only (G1), so
   * `fn` never computes from a version that did not land. One call for `close()`, which waits for all of it.
   */
  async update(
    key: string,
    fn: (current: Json | undefined, record: StateRecord) => Json | Promise<Json>,
    options: UpdateOptions = {},
  ): Promise<UpdateResult> {
    parseInput(Args.update, { key, fn, options });
    checkKey(key, this.limits);
    const { epoch, owner, ...backoff } = options;
    let attempts = 0;
    return this.gate.run(() =>
      retryConflicts(async () => {
        attempts++;
        const record = await this.readOpen(key);
        const value = await fn(record.exists ? record.value : undefined, record);
        const request: CommitRequest & { opId: string } = {
          key,
          op: op.set(value),
          expectVersion: record.version,
          opId: newOpId(),
        };
        if (epoch !== undefined) request.epoch = epoch;
        if (owner !== undefined) request.owner = owner;
        const result = await retryUnavailable(() => this.commitOpen(request), backoff.signal);
        return { ...result, value, attempts };
      }, backoff),
    );
  }

  /**
   * Commits, retrying `UNAVAILABLE` (outcome unknown) with the same opId, so the request applies at most once (G3).
   * The request must carry an `opId`. Each attempt is a `commit` call: once the store is closed, the next one gets
   * `CLOSED`.
   */
  async commitRetryingUnavailable(
    request: CommitRequest & { opId: string },
    signal?: AbortSignal,
  ): Promise<CommitResult> {
    parseInput(Args.commitRetrying, { request, signal });
    return retryUnavailable(() => this.commit(request), signal);
  }

  /** Claims a key; the returned `epoch` is the fencing token for commits. Throws `CLAIM_HELD` unless `steal`. */
  claim(request: ClaimRequest): Promise<Claim> {
    return this.gate.run(() => claim(this.ctx, request));
  }

  /** Extends a live claim; throws `FENCED` if it was superseded, expired or released. */
  renew(ref: ClaimRef, ttlMs: number): Promise<Claim> {
    return this.gate.run(() => renew(this.ctx, ref, ttlMs));
  }

  /** Releases a claim; `false` when it was no longer current. */
  release(ref: ClaimRef): Promise<boolean> {
    return this.gate.run(() => release(this.ctx, ref));
  }

  /** The live claim on a key, or `null`. */
  currentClaim(key: string): Promise<Claim | null> {
    return this.gate.run(async () => {
      parseInput(KeySchema, key);
      checkKey(key, this.limits);
      return currentClaim(this.ctx, key);
    });
  }

  /**
   * Claims `key`, runs `fn(claim, signal)` while renewing the claim in the background, then releases it. If a renewal
   * is fenced (someone reclaimed the key), `signal` aborts with the `FencedError`; commits under the old epoch fail
   * with `FENCED` regardless. `close()` does not wait for `fn` (it may run for as long as it likes): once the store
   * is closed, a renewal aborts `signal` with the `ClosedError`.
   */
  async withClaim<T>(
    key: string,
    fn: (claim: Claim, signal: AbortSignal) => Promise<T>,
    options: WithClaimOptions,
  ): Promise<T> {
    parseInput(Args.withClaim, { key, fn, options });
    const ttlMs = options.ttlMs ?? 10_000;
    const held = await this.claim({ key, owner: options.owner, ttlMs, ...(options.steal && { steal: true }) });
    // renew and release take a ClaimRef; the schema is strict, so a whole Claim (with expiresAt) would be rejected.
    const ref: ClaimRef = { key: held.key, owner: held.owner, epoch: held.epoch };
    const lost = new AbortController();
    const timer = setInterval(
      () => {
        this.renew(ref, ttlMs).then(
          () => undefined,
          (err: unknown) => {
            clearInterval(timer);
            lost.abort(err);
          },
        );
      },
      options.renewEveryMs ?? Math.max(1, Math.floor(ttlMs / 3)),
    );
    try {
      return await fn(held, lost.signal);
    } finally {
      clearInterval(timer);
      if (!lost.signal.aborted) await this.release(ref);
    }
  }

  /**
   * Fires the side effect `run` at most once per `opId`, and only if `guards` still hold when its intent is recorded;
   * `FENCED` or `VERSION_CONFLICT` instead of firing when they do not (docs/effects.md).
   *
   * @example
   * ```ts
   * const approval = await store.read("approvals/42");
   * await store.effect({ opId: "approval-email/42", guards: [{ key: "approvals/42", version: approval.version }], run: () => sendEmail() });
   * ```
   */
  effect<T extends Json>(request: EffectRequest<T>): Promise<EffectResult<T>> {
    return runEffect(this, request);
  }

  /**
   * Every commit outcome under `prefix`, as it happens (docs/design.md §3 event log). `close()` does not wait for watchers:
   * once the store is closed, the iterator throws `CLOSED`.
   */
  watch(prefix = "", options: WatchOptions = {}): AsyncGenerator<StateEvent> {
    parseInput(Args.watch, { prefix, options });
    return watchEvents(this.backend, prefix, options);
  }

  /**
   * One page of the event log: events with `seq >= fromSeq` (default 1) under `prefix`, at most `limit` (default
   * 1,000, at most 100,000).
   */
  events(prefix = "", options: EventsOptions = {}): Promise<StateEvent[]> {
    return this.gate.run(async () => {
      const args = parseInput(Args.events, { prefix, options });
      const { fromSeq, limit } = args.options ?? EventsOptionsSchema.parse({});
      return this.backend.readEvents({ prefix, afterSeq: fromSeq - 1, limit });
    });
  }

  /**
   * The seq of the newest committed event that is final — no event below it can still appear (Backend.lastSeq) — 0
   * before the first, even when retention has purged it since.
   */
  lastSeq(): Promise<number> {
    return this.gate.run(() => this.backend.lastSeq());
  }

  /** Applies the retention policy now (it also runs every 1,024 commits). Event seqs are never reused after it. */
  purge(): Promise<void> {
    return this.gate.run(() => this.purgeOpen());
  }

  /**
   * Waits for every call issued before it (commits, reads, updates with their retries), then closes the backend.
   * Every later call gets `CLOSED` (typed, not retryable). Safe to call twice.
   */
  close(): Promise<void> {
    return this.gate.close(() => this.backend.close());
  }

  // The *Open methods run inside a call already counted by the gate: they never meet `CLOSED` half-way.

  private commitOpen(request: CommitRequest): Promise<CommitResult> {
    return this.thenPurge(commit(this.ctx, request));
  }

  private async readOpen(key: string): Promise<StateRecord> {
    parseInput(KeySchema, key);
    checkKey(key, this.limits);
    return toStateRecord(key, await this.backend.getRecord(key));
  }

  private purgeOpen(): Promise<void> {
    return this.backend.purge({
      idempotencyBefore: this.ctx.now() - this.retention.idempotencyMs,
      maxEvents: this.retention.maxEvents,
    });
  }

  /**
   * `landing` (a commit or txn), followed once it lands by a purge every `PURGE_EVERY` commits, counted as they start.
   * Most commits get `landing` itself back: no promise of their own (a commit is ~20 µs; each promise costs more once
   * LangGraph has turned on async hooks). A failed purge only delays retention: it is reported, not thrown; so does a
   * failed commit that was due one (the next comes 1,024 commits later).
   */
  private thenPurge<T>(landing: Promise<T>): Promise<T> {
    if (++this.commitsSincePurge < PURGE_EVERY) return landing;
    this.commitsSincePurge = 0;
    return landing.then(async (result) => {
      await this.purgeOpen().catch((err: unknown) => process.emitWarning(`fenced-state: purge failed: ${String(err)}`));
      return result;
    });
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

/**
 * The retention policy with defaults filled in. Throws `INVALID_INPUT` unless `maxEvents` is a positive whole number
 * and `idempotencyMs` a positive number: 0 would purge every event (a watcher resuming from its last seq would wait
 * on a log with nothing in it) and forget every opId at once (a retry would apply twice).
 */
export function resolveRetention(retention: Partial<Retention> = {}): Retention {
  const resolved: Retention = {
    maxEvents: retention.maxEvents ?? DEFAULT_RETENTION.maxEvents,
    idempotencyMs: retention.idempotencyMs ?? DEFAULT_RETENTION.idempotencyMs,
  };
  const issues = [];
  if (!Number.isSafeInteger(resolved.maxEvents) || resolved.maxEvents < 1) {
    issues.push({
      path: ["retention", "maxEvents"],
      message: `must be a whole number of at least 1, got ${String(resolved.maxEvents)}`,
    });
  }
  if (typeof resolved.idempotencyMs !== "number" || !(resolved.idempotencyMs > 0)) {
    issues.push({
      path: ["retention", "idempotencyMs"],
      message: `must be a positive number of milliseconds, got ${String(resolved.idempotencyMs)}`,
    });
  }
  if (issues.length > 0) throw new InvalidInputError({ issues });
  return resolved;
}

/** A list request with its defaults, or `INVALID_INPUT`; a string is a prefix. */
function listQuery(query: ListRequest | string) {
  return parseInput(ListRequestSchema, typeof query === "string" ? { prefix: query } : query);
}

function toStateRecord(key: string, row: StoredRecord | undefined): StateRecord {
  if (!row) return { key, exists: false, version: 0, epoch: 0 };
  const base = { key, version: row.version, epoch: row.epoch, updatedAt: row.updatedAt };
  return row.valueText === null
    ? { ...base, exists: false }
    : { ...base, exists: true, value: JSON.parse(row.valueText) as Json };
}
