/**
 * A work queue on the core (docs/queue.md). A task is a key; leasing it is a claim on that key whose ttl is the
 * visibility timeout; completing it is a txn guarded by the lease's epoch, so a worker whose lease expired or was
 * taken over is `FENCED` and its result never lands (G2). Nothing here decides a conflict: `commit` does.
 *
 * FIFO: tasks are keys `ready/<seq>` and a lease scans them in key order (= enqueue order, see log.ts) from the
 * first, skipping the ones that are leased or delayed by a backoff. A lease costs O(s) record reads plus one claim
 * and one commit per task tried, where s is the number of pending tasks before the first leasable one (the tasks
 * now leased by other workers, and delayed ones). Completed and dead tasks leave the `ready/` prefix, so the scan
 * never walks history. Workers never wait on each other: a task another worker just claimed is `CLAIM_HELD`, and
 * the scan moves on to the next one (on PostgreSQL each claim locks only its own key).
 */
import { newOpId } from "../core/op-id.js";
import { InvalidInputError, isErrorCode } from "../core/errors.js";
import type { Json } from "../core/json.js";
import { op } from "../core/ops.js";
import type { Guard, TxnResult } from "../core/schemas.js";
import type { StateStore } from "../core/store.js";
import type { TxnItem } from "../core/commit.js";
import { parseInput } from "../core/validate.js";
import { QueueKeys, type TaskState } from "./keys.js";
import { appendSequenced } from "./log.js";
import {
  CompleteRequestSchema,
  EnqueueRequestSchema,
  FailRequestSchema,
  LeaseRefSchema,
  LeaseRequestSchema,
  QueueNameSchema,
  RetryPolicySchema,
  type EnqueueResult,
  type FailResult,
  type Lease,
  type LeaseRef,
  type QueueStats,
  type TaskValue,
} from "./schemas.js";

/** Key prefix of every queue. */
export const QUEUE_ROOT = "queues";
const PAGE = 100;

/** A completed task as stored at `done/<seq>`. */
export interface DoneTask {
  seq: number;
  payload: Json;
  result: Json | null;
  attempts: number;
  owner: string;
  epoch: number;
  completedAt: number;
}

/** A dead letter as stored at `dead/<seq>`. */
export interface DeadTask {
  seq: number;
  payload: Json;
  attempts: number;
  lastError: string | null;
  diedAt: number;
}

/** Options of `complete` beside the result. */
export interface CompleteOptions {
  /** State writes committed in the same transaction as the completion, or not at all. */
  writes?: TxnItem[];
  /** Further preconditions of that transaction; the lease's own fence is always there. */
  guards?: Guard[];
  /** Default `queue/<name>/<seq>/complete/<epoch>`: a retried completion of one lease replays its first result. */
  opId?: string;
}

/**
 * One work queue.
 *
 * @example
 * ```ts
 * const q = workQueue(store, "emails");
 * await q.enqueue({ to: "a@example.com" }, { opId: "welcome-a" });   // idempotent by opId
 * const lease = await q.lease({ owner: "worker-1", visibilityMs: 30_000 });
 * if (lease) await q.complete(lease, { sent: true }, { writes: [{ key: "users/a/welcomed", op: op.set(true) }] });
 * ```
 */
export class WorkQueue {
  readonly keys: QueueKeys;

  constructor(
    readonly store: StateStore,
    readonly name: string,
  ) {
    parseInput(QueueNameSchema, name);
    this.keys = new QueueKeys(QUEUE_ROOT, name);
  }

  /**
   * Appends a task at the tail. With an `opId`, enqueueing again (a retry, another process) returns the first seq and
   * writes nothing; the same opId with another payload or policy is `IDEMPOTENCY_MISMATCH`.
   */
  async enqueue(
    payload: Json,
    options: { opId?: string; maxAttempts?: number; retry?: { baseMs?: number; maxMs?: number }; owner?: string } = {},
  ): Promise<EnqueueResult> {
    const req = parseInput(EnqueueRequestSchema, { queue: this.name, payload, ...options });
    const retry = parseInput(RetryPolicySchema, req.retry ?? {});
    const opId = req.opId ?? newOpId();
    const now = this.store.now();
    const appended = await appendSequenced(this.store, this.keys, "ready", {
      opId,
      identity: { payload: req.payload, maxAttempts: req.maxAttempts, retry },
      owner: req.owner,
      value: (): Json => {
        const task: TaskValue = {
          payload: req.payload,
          opId,
          enqueuedAt: now,
          attempts: 0,
          maxAttempts: req.maxAttempts,
          retry,
          visibleAt: 0,
          leasedUntil: 0,
        };
        return task as unknown as Json;
      },
    });
    return { queue: this.name, ...appended };
  }

  /**
   * Leases the oldest visible task that nobody holds, or returns `null` when there is none. The lease is a claim on
   * the task's key for `visibilityMs`; its epoch fences every later write of this worker. A task whose attempts are
   * used up (its workers died mid-task) is dead-lettered here instead of being handed out again.
   */
  async lease(request: { owner: string; visibilityMs: number }): Promise<Lease | null> {
    const { owner, visibilityMs } = parseInput(LeaseRequestSchema, { queue: this.name, ...request });
    for (let after: string | undefined; ; ) {
      const page = await this.store.list({
        prefix: this.keys.of("ready"),
        limit: PAGE,
        ...(after !== undefined && { after }),
      });
      for (const record of page) {
        // Not a task this queue wrote (a plain commit under its prefix): never leased, never touched.
        if (!this.keys.isTaskKey(record.key) || !isTaskValue(record.value)) continue;
        const task = record.value as unknown as TaskValue;
        const now = this.store.now();
        if (task.visibleAt > now || task.leasedUntil > now) continue;
        const claim = await this.store.claim({ key: record.key, owner, ttlMs: visibilityMs }).catch((err: unknown) => {
          if (isErrorCode(err, "CLAIM_HELD")) return null;
          throw err;
        });
        if (!claim) continue;
        const seq = this.keys.seqOf(record.key);
        const ref = { key: record.key, owner, epoch: claim.epoch };
        try {
          if (task.attempts >= task.maxAttempts) {
            await this.bury({ queue: this.name, seq, owner, epoch: claim.epoch, version: record.version }, task);
            continue;
          }
          const next: TaskValue = {
            ...task,
            attempts: task.attempts + 1,
            leasedUntil: claim.expiresAt,
            leasedBy: owner,
          };
          // expectVersion: the task must still be what the scan read (not completed, failed or re-leased since).
          const written = await this.store.commit({
            key: record.key,
            op: op.set(next as unknown as Json),
            expectVersion: record.version,
            epoch: claim.epoch,
            owner,
          });
          return {
            queue: this.name,
            seq,
            key: record.key,
            owner,
            epoch: claim.epoch,
            version: written.version,
            payload: task.payload,
            attempt: next.attempts,
            maxAttempts: task.maxAttempts,
            expiresAt: claim.expiresAt,
          };
        } catch (err) {
          if (!isErrorCode(err, "VERSION_CONFLICT") && !isErrorCode(err, "FENCED")) throw err;
          await this.store.release(ref);
        }
      }
      if (page.length < PAGE) return null;
      after = page[page.length - 1]!.key;
    }
  }

  /** Extends the lease by `visibilityMs` from now. `FENCED` when it expired or was taken over: stop working on it. */
  async heartbeat(lease: LeaseRef, visibilityMs: number): Promise<Lease["expiresAt"]> {
    const ref = this.ref(lease);
    const claim = await this.store.renew(
      { key: this.keys.task("ready", ref.seq), owner: ref.owner, epoch: ref.epoch },
      visibilityMs,
    );
    return claim.expiresAt;
  }

  /**
   * Completes the task with `result`: one txn removes it from `ready/`, writes `done/<seq>` and `options.writes`, under
   * the lease's fence. A lease that expired or was taken over is `FENCED` (the task stays with its current holder);
   * nothing of the txn lands.
   */
  async complete(lease: LeaseRef, result: Json | null = null, options: CompleteOptions = {}): Promise<TxnResult> {
    const req = parseInput(CompleteRequestSchema, {
      lease: this.ref(lease),
      ...(result !== null && { result }),
      ...options,
    });
    const { seq, owner, epoch, version } = req.lease;
    const key = this.keys.task("ready", seq);
    const task = await this.pendingTask(key, version);
    const done: DoneTask = task
      ? {
          seq,
          payload: task.payload,
          result: req.result ?? null,
          attempts: task.attempts,
          owner,
          epoch,
          completedAt: this.store.now(),
        }
      : {
          ...((await this.doneBy(seq, owner, epoch)) ?? {
            seq,
            payload: null,
            attempts: 0,
            owner,
            epoch,
            completedAt: 0,
          }),
          result: req.result ?? null,
        };
    // The lease's fence: the task key's claim must still be this lease's (live, same epoch).
    const fence = { key, epoch };
    const committed = await this.store.txn(
      [
        { key, op: op.delete(), expectVersion: version, epoch: fence.epoch, owner },
        { key: this.keys.task("done", seq), op: op.set(done as unknown as Json), expectVersion: 0, owner },
        ...(req.writes ?? []),
      ],
      { guards: [fence, ...(req.guards ?? [])], opId: req.opId ?? `queue/${this.name}/${seq}/complete/${epoch}` },
    );
    await this.store.release({ key, owner, epoch });
    return committed;
  }

  /**
   * Gives the task back after a failed attempt: visible again after the task's backoff (or `retryAfterMs`), or moved
   * to the dead letters when its attempts are used up. Fenced like `complete`.
   */
  async fail(lease: LeaseRef, error = "", options: { retryAfterMs?: number } = {}): Promise<FailResult> {
    const req = parseInput(FailRequestSchema, { lease: this.ref(lease), error, ...options });
    const { seq, owner, epoch, version } = req.lease;
    const key = this.keys.task("ready", seq);
    const task = (await this.pendingTask(key, version)) ?? placeholderTask();
    const withError: TaskValue = { ...task, lastError: req.error };
    if (task.attempts >= task.maxAttempts) {
      await this.bury(req.lease, withError);
      return { status: "dead" };
    }
    const delay =
      req.retryAfterMs ?? Math.min(task.retry.maxMs, task.retry.baseMs * 2 ** Math.max(0, task.attempts - 1));
    const visibleAt = this.store.now() + delay;
    const next: TaskValue = { ...withError, visibleAt, leasedUntil: 0 };
    // No opId: a fail retried after it landed finds its lease released and is FENCED, which is what it is.
    await this.store.txn([{ key, op: op.set(next as unknown as Json), expectVersion: version, epoch, owner }], {
      guards: [{ key, epoch }],
    });
    await this.store.release({ key, owner, epoch });
    return { status: "retry", visibleAt };
  }

  /** Counts of the queue's tasks by state (reads every pending, done and dead record: O(n)). */
  async stats(): Promise<QueueStats> {
    const counter = await this.store.read(this.keys.next);
    return {
      enqueued: counter.version,
      pending: await this.count("ready"),
      done: await this.count("done"),
      dead: await this.count("dead"),
    };
  }

  /** The tasks in one state, oldest first; page with `after` (a seq). */
  async tasks(
    state: TaskState,
    options: { after?: number; limit?: number } = {},
  ): Promise<{ seq: number; key: string; value: Json }[]> {
    const page = await this.store.list({
      prefix: this.keys.of(state),
      limit: options.limit ?? PAGE,
      ...(options.after !== undefined && { after: this.keys.task(state, options.after) }),
    });
    return page
      .filter((r) => this.keys.isTaskKey(r.key))
      .map((r) => ({ seq: this.keys.seqOf(r.key), key: r.key, value: r.value! }));
  }

  /** Moves a pending task to the dead letters under the lease's fence. */
  private async bury(lease: LeaseRef, task: TaskValue): Promise<void> {
    const key = this.keys.task("ready", lease.seq);
    const dead: DeadTask = {
      seq: lease.seq,
      payload: task.payload,
      attempts: task.attempts,
      lastError: task.lastError ?? null,
      diedAt: this.store.now(),
    };
    await this.store.txn(
      [
        { key, op: op.delete(), expectVersion: lease.version, epoch: lease.epoch, owner: lease.owner },
        {
          key: this.keys.task("dead", lease.seq),
          op: op.set(dead as unknown as Json),
          expectVersion: 0,
          owner: lease.owner,
        },
      ],
      { guards: [{ key, epoch: lease.epoch }] },
    );
    await this.store.release({ key, owner: lease.owner, epoch: lease.epoch });
  }

  /**
   * The done record this lease wrote, if it did: a retried completion rebuilds the very txn it sent, so the core
   * replays it (G3) instead of answering with a fence.
   */
  private async doneBy(seq: number, owner: string, epoch: number): Promise<DoneTask | undefined> {
    const record = await this.store.read(this.keys.task("done", seq));
    const done = record.value as unknown as DoneTask | undefined;
    return record.exists && done?.epoch === epoch && done.owner === owner ? done : undefined;
  }

  /**
   * The pending task as this lease wrote it, or `undefined` when the record moved on (the lease is lost; the txn that
   * follows is then rejected by the core with the typed reason, which is the answer the caller gets).
   */
  private async pendingTask(key: string, version: number): Promise<TaskValue | undefined> {
    const record = await this.store.read(key);
    return record.exists && record.version === version ? (record.value as unknown as TaskValue) : undefined;
  }

  private ref(lease: LeaseRef): LeaseRef {
    const { queue, seq, owner, epoch, version } = parseInput(LeaseRefSchema, {
      queue: lease.queue,
      seq: lease.seq,
      owner: lease.owner,
      epoch: lease.epoch,
      version: lease.version,
    });
    if (queue !== this.name)
      throw new InvalidInputError({
        issues: [{ path: ["lease", "queue"], message: `a lease of queue ${queue}, not ${this.name}` }],
      });
    return { queue, seq, owner, epoch, version };
  }

  private async count(state: TaskState): Promise<number> {
    let n = 0;
    for (let after: string | undefined; ; ) {
      const page = await this.store.list({
        prefix: this.keys.of(state),
        limit: 1000,
        ...(after !== undefined && { after }),
      });
      n += page.length;
      if (page.length < 1000) return n;
      after = page[page.length - 1]!.key;
    }
  }
}

/** A stand-in for a task record this lease no longer sees: the txn it feeds is rejected by the core before use. */
function placeholderTask(): TaskValue {
  return {
    payload: null,
    opId: "",
    enqueuedAt: 0,
    attempts: 0,
    maxAttempts: 1,
    retry: { baseMs: 1, maxMs: 1 },
    visibleAt: 0,
    leasedUntil: 0,
  };
}

/** The queue `name` of `store` (a cheap handle: a queue keeps no state outside the store). */
export function workQueue(store: StateStore, name: string): WorkQueue {
  return new WorkQueue(store, name);
}

/** The shape `lease` relies on: a task value as `enqueue` writes it (numbers where it compares and counts). */
function isTaskValue(value: Json | undefined): boolean {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const numbers = ["attempts", "maxAttempts", "visibleAt", "leasedUntil"] as const;
  const retry = value.retry;
  // `fail` computes the next delay from retry.baseMs and retry.maxMs: `null` or an array would throw there, untyped.
  return (
    numbers.every((field) => typeof value[field] === "number") &&
    retry !== null &&
    typeof retry === "object" &&
    !Array.isArray(retry) &&
    typeof retry.baseMs === "number" &&
    typeof retry.maxMs === "number"
  );
}
