/**
 * A thread's lifecycle on the fenced saver (docs/lifecycle.md): prune, copy, delete by run, and the TTL sweep. Each one
 * is a core commit on the thread's head records like a put (docs/design.md §10, "Thread lifecycle"), so it is fenced
 * against running runs by the same checks:
 * - a head it keeps is pinned by a version guard, so a run that advanced the thread meanwhile makes it conflict and
 *   start over, never delete what the new head needs;
 * - a head it moves (a deleted run's checkpoints were the head) is a request with `expectVersion`, under the run fence;
 * - every deletion of checkpoints bumps the thread's history record, which forks and copies guard.
 * Checkpoint rows and values ride in the commit's extra rows (`commitWithRows`); a value a deleted checkpoint wrote
 * stays while a kept checkpoint refers to it, so a run that inherits it from the head never loses it.
 */
import {
  CheckpointExistsError,
  type BlobAddress,
  type CheckpointReader,
  type CheckpointRef,
  type HeadRecord,
  type LoadedCheckpoint,
} from "../core/checkpoints.js";
import { InvalidInputError, isErrorCode } from "../core/errors.js";
import { op } from "../core/ops.js";
import { withBackoff } from "../core/retry.js";
import type { CommitRequest, Guard, StateRecord } from "../core/schemas.js";
import { commitWithRows, type StateStore } from "../core/store.js";
import { ThreadKeys } from "./keys.js";

/** `keep_latest`: every namespace keeps only its head (and its pending writes). `delete`: the whole thread goes. */
export type PruneStrategy = "keep_latest" | "delete";

/** What a lifecycle operation removed. */
export interface LifecycleCounts {
  /** Threads it changed. */
  threads: number;
  /** Checkpoints it deleted. */
  checkpoints: number;
}

/** A thread TTL: threads idle for `idleMs` (no head moved, no run started) are pruned by `strategy`. */
export interface ThreadTtl {
  idleMs: number;
  strategy: PruneStrategy;
  /** Sweep in the background every this many ms (an unref'd timer, stopped by `close()`). Default: only `sweep()`. */
  sweepEveryMs?: number;
}

/** Counters of what sweeps removed, one core record each, incremented in the commit that removed it. */
export const SWEPT_PREFIX = "fenced-lifecycle/swept/";
export const SWEPT_KEYS = {
  threads: `${SWEPT_PREFIX}threads`,
  checkpoints: `${SWEPT_PREFIX}checkpoints`,
  items: `${SWEPT_PREFIX}items`,
} as const;

/** Recorded in the event log as the writer of sweep commits. */
export const SWEEP_OWNER = "fenced-sweep";

/** What the lifecycle needs of the saver. */
export interface LifecycleContext {
  store: StateStore;
  keyPrefix: string;
  checkpoints: CheckpointReader;
  /** Drops what the saver cached about a checkpoint whose head version changed. */
  forget(threadId: string, ns: string, checkpointId: string): void;
}

/** How one removal commits. */
export interface RemovalOptions {
  /** The run claim the removal runs under (a rollback); without one, a live run claim makes a head move `FENCED`. */
  epoch?: number;
  owner?: string;
  /** A sweep: give up (`undefined`) if any head or the run record moved after this time; refuse while a run holds the thread. */
  idleBefore?: number;
  /**
   * A rollback: the root checkpoint the rolled-back run started from and the pending writes (`taskId\0idx`) it had
   * then; the writes the run added to it are deleted in the same commit.
   */
  startWrites?: { checkpointId: string; keep: ReadonlySet<string> };
}

/** Whether a checkpoint goes, given its namespace's head as read in the same attempt. */
export type Doomed = (row: LoadedCheckpoint, headId: string | undefined) => boolean;

export interface Removed {
  checkpoints: number;
  /** Namespace → the checkpoint that is the head again, when the removal moved the head back. */
  restored: Map<string, LoadedCheckpoint>;
}

const PAGE = 500;
const RETRIES = { retries: 30, baseMs: 2, maxMs: 200 };

/** Retries a removal that a concurrent head move made conflict: it re-reads the thread and decides again. */
function retrying<T>(attempt: () => Promise<T>): Promise<T> {
  return withBackoff(attempt, (err) => isErrorCode(err, "VERSION_CONFLICT"), RETRIES);
}

/** Every checkpoint of a thread, every namespace. */
export async function threadRows(checkpoints: CheckpointReader, threadId: string): Promise<LoadedCheckpoint[]> {
  const out: LoadedCheckpoint[] = [];
  for (let after: LoadedCheckpoint | undefined; ; ) {
    const page = await checkpoints.listCheckpoints({
      threadId,
      limit: PAGE,
      ...(after && { after: { threadId: after.threadId, ns: after.ns, checkpointId: after.checkpointId } }),
    });
    out.push(...page);
    if (page.length < PAGE) return out;
    after = page[page.length - 1];
  }
}

/** Every record of a thread (heads, history, run record), tombstones included, by key. */
export async function threadRecords(store: StateStore, keys: ThreadKeys): Promise<StateRecord[]> {
  const out: StateRecord[] = [];
  for (let after: string | undefined; ; ) {
    const page = await store.list({
      prefix: keys.prefix,
      limit: 1000,
      includeDeleted: true,
      ...(after !== undefined && { after }),
    });
    out.push(...page);
    if (page.length < 1000) return out;
    after = page[page.length - 1]!.key;
  }
}

/**
 * Deletes the checkpoints of `threadId` that `doomed` picks, in one commit. A head that is picked moves back to its
 * nearest ancestor that is not (or the namespace is emptied); a head that is not picked is pinned by a version guard.
 * `undefined` when a sweep found the thread no longer idle.
 */
async function removeOnce(
  ctx: LifecycleContext,
  threadId: string,
  doomed: Doomed,
  options: RemovalOptions,
  extra: (removed: number) => CommitRequest[],
): Promise<Removed | undefined> {
  const keys = new ThreadKeys(ctx.keyPrefix, threadId);
  // Heads first, rows second: a checkpoint that lands in between is a child of a head read here, whose guard then
  // fails. The other order could miss a new head's row and delete values it refers to.
  const records = new Map((await threadRecords(ctx.store, keys)).map((r) => [r.key, r]));
  const rows = await threadRows(ctx.checkpoints, threadId);
  const byNs = new Map<string, Map<string, LoadedCheckpoint>>();
  for (const row of rows) {
    let lineage = byNs.get(row.ns);
    if (!lineage) byNs.set(row.ns, (lineage = new Map()));
    lineage.set(row.checkpointId, row);
  }
  const requests: CommitRequest[] = [];
  const guards: Guard[] = [];
  const deleted: LoadedCheckpoint[] = [];
  const kept: LoadedCheckpoint[] = [];
  const restores: { ns: string; row: LoadedCheckpoint; request: number }[] = [];
  let headMoves = false;
  const recordOf = (key: string): StateRecord => records.get(key) ?? { key, exists: false, version: 0, epoch: 0 };
  if (options.idleBefore !== undefined) {
    for (const r of records.values()) {
      if (r.key !== keys.history && r.updatedAt !== undefined && r.updatedAt > options.idleBefore) return undefined;
    }
    guards.push({ key: keys.run, version: recordOf(keys.run).version });
  }
  for (const [ns, lineage] of byNs) {
    const record = recordOf(keys.head(ns));
    const headId = record.exists ? (record.value as unknown as HeadRecord).checkpointId : undefined;
    const gone = [...lineage.values()].filter((row) => doomed(row, headId));
    const goneIds = new Set(gone.map((r) => r.checkpointId));
    deleted.push(...gone);
    kept.push(...[...lineage.values()].filter((r) => !goneIds.has(r.checkpointId)));
    if (headId === undefined || !goneIds.has(headId)) {
      guards.push({ key: record.key, version: record.version });
      continue;
    }
    // The head goes: back to its nearest ancestor that stays, as a commit of the head record.
    let back = lineage.get(headId)!.parentId;
    while (back !== null && goneIds.has(back)) back = lineage.get(back)?.parentId ?? null;
    const ancestor = back === null ? undefined : lineage.get(back);
    const request: CommitRequest = ancestor
      ? {
          key: record.key,
          op: op.set({ checkpointId: ancestor.checkpointId, parentCheckpointId: ancestor.parentId }),
          expectVersion: record.version,
        }
      : { key: record.key, op: op.delete(), expectVersion: record.version };
    if (ns === "" && options.epoch !== undefined) request.epoch = options.epoch;
    if (options.owner !== undefined) request.owner = options.owner;
    if (ancestor) restores.push({ ns, row: ancestor, request: requests.length });
    requests.push(request);
    headMoves = true;
  }
  const start = options.startWrites && byNs.get("")?.get(options.startWrites.checkpointId);
  const added = start ? start.writes.filter((w) => !options.startWrites!.keep.has(writeKey(w))) : [];
  if (deleted.length === 0 && added.length === 0) return { checkpoints: 0, restored: new Map() };
  // A head move is fenced by the run claim as a put is; a sweep also leaves a thread alone while a run holds it.
  if (headMoves || options.idleBefore !== undefined || options.epoch !== undefined)
    guards.push({ key: keys.claimKey, epoch: options.epoch ?? null });
  requests.push(
    { key: keys.history, op: op.increment(1), ...(options.owner !== undefined && { owner: options.owner }) },
    ...extra(deleted.length),
  );
  const refs: CheckpointRef[] = deleted.map(({ threadId: t, ns, checkpointId }) => ({ threadId: t, ns, checkpointId }));
  const blobs = unreferenced(deleted, kept);
  const { results } = await commitWithRows(ctx.store, { requests, guards }, async (tx, committed) => {
    await tx.checkpoints!.deleteCheckpoints(refs, blobs);
    if (start && added.length > 0)
      await tx.checkpoints!.deleteWrites({ threadId, ns: "", checkpointId: start.checkpointId }, added);
    for (const r of restores) {
      await tx.checkpoints!.setHeadVersion(
        { threadId, ns: r.ns, checkpointId: r.row.checkpointId },
        committed[r.request]!.version,
      );
    }
  });
  const restored = new Map<string, LoadedCheckpoint>();
  for (const r of restores) {
    ctx.forget(threadId, r.ns, r.row.checkpointId);
    restored.set(r.ns, { ...r.row, headVersion: results[r.request]!.version });
  }
  for (const r of deleted) ctx.forget(threadId, r.ns, r.checkpointId);
  return { checkpoints: deleted.length, restored };
}

/** A pending write's identity as one string. */
export function writeKey(w: { taskId: string; idx: number }): string {
  return `${w.taskId}\u0000${w.idx}`;
}

/** The values deleted checkpoints refer to that no kept checkpoint of the same namespace refers to. */
function unreferenced(deleted: LoadedCheckpoint[], kept: LoadedCheckpoint[]): BlobAddress[] {
  const id = (ns: string, checkpointId: string, channel: string) => `${ns}\u0000${checkpointId}\u0000${channel}`;
  const live = new Set<string>();
  for (const row of kept)
    for (const [channel, ref] of Object.entries(row.blobRefs)) live.add(id(row.ns, ref.checkpointId, channel));
  const out = new Map<string, BlobAddress>();
  for (const row of deleted) {
    for (const [channel, ref] of Object.entries(row.blobRefs)) {
      const k = id(row.ns, ref.checkpointId, channel);
      if (!live.has(k)) out.set(k, { threadId: row.threadId, ns: row.ns, checkpointId: ref.checkpointId, channel });
    }
  }
  return [...out.values()];
}

/**
 * Removes the checkpoints `doomed` picks from one thread, retrying on a concurrent head move; see `removeOnce`.
 * @internal
 */
export function removeCheckpoints(
  ctx: LifecycleContext,
  threadId: string,
  doomed: Doomed,
  options: RemovalOptions = {},
  extra: (removed: number) => CommitRequest[] = () => [],
): Promise<Removed | undefined> {
  return retrying(() => removeOnce(ctx, threadId, doomed, options, extra));
}

/** `keep_latest`: a checkpoint goes unless it is its namespace's head (a namespace without a head keeps all). */
export const notHead: Doomed = (row, headId) => headId !== undefined && row.checkpointId !== headId;

/** The checkpoints of `runIds` (by their `metadata.run_id`), by thread. */
export async function checkpointsOfRuns(
  checkpoints: CheckpointReader,
  runIds: readonly string[],
): Promise<Map<string, Set<string>>> {
  const byThread = new Map<string, Set<string>>();
  for (const runId of new Set(runIds)) {
    for (let after: LoadedCheckpoint | undefined; ; ) {
      const page = await checkpoints.listCheckpoints({
        metadata: { run_id: runId },
        limit: PAGE,
        ...(after && { after: { threadId: after.threadId, ns: after.ns, checkpointId: after.checkpointId } }),
      });
      for (const row of page) {
        let ids = byThread.get(row.threadId);
        if (!ids) byThread.set(row.threadId, (ids = new Set()));
        ids.add(`${row.ns}\u0000${row.checkpointId}`);
      }
      if (page.length < PAGE) break;
      after = page[page.length - 1];
    }
  }
  return byThread;
}

/** Checks a list of thread or run ids: non-empty strings. */
export function checkIds(ids: unknown, path: string): string[] {
  if (!Array.isArray(ids) || !ids.every((id) => typeof id === "string" && id !== "")) {
    throw new InvalidInputError({ issues: [{ path: [path], message: "must be an array of non-empty strings" }] });
  }
  return ids as string[];
}

/**
 * Deletes a whole thread (`prune` with `delete`, a sweep): every checkpoint, value and write, and its records, each
 * expected at the version read, so a head that moved since makes it decide again (a sweep then sees a thread that is
 * no longer idle). `FENCED` while a run holds the thread. `undefined` when a sweep found it no longer idle.
 */
export function dropThread(
  ctx: LifecycleContext,
  threadId: string,
  options: RemovalOptions = {},
  extra: (removed: number) => CommitRequest[] = () => [],
): Promise<number | undefined> {
  const keys = new ThreadKeys(ctx.keyPrefix, threadId);
  return retrying(async () => {
    const records = await threadRecords(ctx.store, keys);
    const rows = await threadRows(ctx.checkpoints, threadId);
    if (options.idleBefore !== undefined) {
      for (const r of records)
        if (r.key !== keys.history && r.updatedAt !== undefined && r.updatedAt > options.idleBefore) return undefined;
    }
    const live = records.filter((r) => r.exists);
    if (live.length === 0 && rows.length === 0) return 0;
    const owner = options.owner !== undefined ? { owner: options.owner } : {};
    const deletes: CommitRequest[] = live.map((r) => ({
      key: r.key,
      op: op.delete(),
      expectVersion: r.version,
      ...owner,
    }));
    const guards: Guard[] = [
      { key: keys.claimKey, epoch: options.epoch ?? null },
      ...records.filter((r) => !r.exists).map((r) => ({ key: r.key, version: r.version })),
    ];
    // The rows go with the first chunk, which carries the run fence; a thread has few records (a head per namespace).
    const chunk = ctx.store.limits.maxTxnSize - 2;
    const first = [...deletes.splice(0, chunk), ...extra(rows.length)];
    await commitWithRows(ctx.store, { requests: first, guards }, (tx) => tx.checkpoints!.deleteThread(threadId));
    while (deletes.length > 0) await ctx.store.txn(deletes.splice(0, chunk));
    for (const r of rows) ctx.forget(threadId, r.ns, r.checkpointId);
    return rows.length;
  });
}

/**
 * Copies every checkpoint, value and pending write of `sourceThreadId`, every namespace, to `targetThreadId`, which
 * must have none (`INVALID_INPUT`). One commit: guarded on the source's heads and history, so a write that lands on
 * the source meanwhile makes the copy read again; the target's heads name the same checkpoints as the source's.
 */
export function copyThread(ctx: LifecycleContext, sourceThreadId: string, targetThreadId: string): Promise<number> {
  if (sourceThreadId === targetThreadId) {
    throw new InvalidInputError({ issues: [{ path: ["targetThreadId"], message: "must differ from sourceThreadId" }] });
  }
  const source = new ThreadKeys(ctx.keyPrefix, sourceThreadId);
  const target = new ThreadKeys(ctx.keyPrefix, targetThreadId);
  return retrying(async () => {
    const sourceRecords = await threadRecords(ctx.store, source);
    const rows = await threadRows(ctx.checkpoints, sourceThreadId);
    const targetRecords = new Map((await threadRecords(ctx.store, target)).map((r) => [r.key, r]));
    if ([...targetRecords.values()].some((r) => r.exists && r.key !== target.history)) {
      throw new InvalidInputError({
        issues: [{ path: ["targetThreadId"], message: `thread "${targetThreadId}" already has checkpoints` }],
      });
    }
    const byKey = new Map(sourceRecords.map((r) => [r.key, r]));
    const heads = new Map<string, string>();
    for (const ns of new Set(rows.map((r) => r.ns))) {
      const head = byKey.get(source.head(ns));
      if (head?.exists) heads.set(ns, (head.value as unknown as HeadRecord).checkpointId);
    }
    const guards: Guard[] = [
      ...sourceRecords.filter((r) => r.key !== source.run).map((r) => ({ key: r.key, version: r.version })),
      { key: source.history, version: byKey.get(source.history)?.version ?? 0 },
      { key: target.claimKey, epoch: null },
    ];
    const requests: CommitRequest[] = [];
    const headRequest = new Map<string, number>();
    for (const [ns, checkpointId] of heads) {
      const row = rows.find((r) => r.ns === ns && r.checkpointId === checkpointId);
      if (!row) continue;
      headRequest.set(ns, requests.length);
      requests.push({
        key: target.head(ns),
        op: op.set({ checkpointId, parentCheckpointId: row.parentId }),
        expectVersion: targetRecords.get(target.head(ns))?.version ?? 0,
      });
    }
    if (requests.length === 0) return 0;
    await commitWithRows(ctx.store, { requests, guards: dedupe(guards) }, async (tx, results) => {
      for (const row of rows) {
        const head = heads.get(row.ns) === row.checkpointId ? headRequest.get(row.ns) : undefined;
        const copied = copiedRow(row, targetThreadId, rows, head === undefined ? 0 : results[head]!.version);
        // The target was checked to have no checkpoints; one whose id is still taken there (values kept by a pruned
        // checkpoint of a former thread of that name) must fail the copy, not leave it without that checkpoint.
        if (!(await tx.checkpoints!.insertCheckpoint(copied.row, copied.blobs))) {
          throw new CheckpointExistsError(copied.row);
        }
        if (row.writes.length > 0)
          await tx.checkpoints!.putWrites(
            { threadId: targetThreadId, ns: row.ns, checkpointId: row.checkpointId },
            row.writes,
          );
      }
    });
    return rows.length;
  });
}

/** Guards on distinct keys, the first of each key kept. */
function dedupe(guards: Guard[]): Guard[] {
  const seen = new Set<string>();
  return guards.filter((g) => !seen.has(g.key) && (seen.add(g.key), true));
}

/**
 * A source row as a row of the target thread. Refs to values another copied checkpoint wrote stay; a value whose
 * writer was deleted (by a prune) is written by the copy itself. A copy that is not a head gets head version 0: a
 * child of it is a fork (`forkConfig`), as on the source.
 */
function copiedRow(row: LoadedCheckpoint, threadId: string, rows: LoadedCheckpoint[], headVersion: number) {
  const ids = new Set(rows.filter((r) => r.ns === row.ns).map((r) => r.checkpointId));
  const blobRefs: LoadedCheckpoint["blobRefs"] = {};
  const blobs = [];
  for (const [channel, ref] of Object.entries(row.blobRefs)) {
    const own = ref.checkpointId === row.checkpointId || !ids.has(ref.checkpointId);
    blobRefs[channel] = own ? { checkpointId: row.checkpointId, headVersion: ref.headVersion } : ref;
    const blob = own ? row.blobs.find((b) => b.channel === channel) : undefined;
    if (blob) blobs.push(blob);
  }
  const { ns, checkpointId, parentId, type, checkpoint, metadata } = row;
  return { row: { threadId, ns, checkpointId, parentId, headVersion, type, checkpoint, metadata, blobRefs }, blobs };
}

/** A stored checkpoint's `metadata.run_id`, when its metadata is JSON and has one. */
export function runIdOf(row: LoadedCheckpoint): string | undefined {
  if (row.type !== "json") return undefined;
  try {
    const runId = (JSON.parse(Buffer.from(row.metadata).toString("utf8")) as { run_id?: unknown }).run_id;
    return typeof runId === "string" ? runId : undefined;
  } catch {
    return undefined;
  }
}

/** The thread TTL, checked: `INVALID_INPUT` unless the periods are positive and the strategy is known. */
export function checkTtl(ttl: ThreadTtl): ThreadTtl {
  const positive = (v: unknown) => typeof v === "number" && Number.isFinite(v) && v > 0;
  if (
    ttl === null ||
    typeof ttl !== "object" ||
    !positive(ttl.idleMs) ||
    (ttl.sweepEveryMs !== undefined && !positive(ttl.sweepEveryMs))
  ) {
    throw new InvalidInputError({
      issues: [
        { path: ["ttl"], message: "idleMs (and sweepEveryMs, if given) must be positive numbers of milliseconds" },
      ],
    });
  }
  return { ...ttl, strategy: checkStrategy(ttl.strategy) };
}

export function checkStrategy(strategy: unknown): PruneStrategy {
  if (strategy === "keep_latest" || strategy === "delete") return strategy;
  throw new InvalidInputError({ issues: [{ path: ["strategy"], message: 'must be "keep_latest" or "delete"' }] });
}
