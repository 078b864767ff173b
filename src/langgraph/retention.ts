/**
 * The thread TTL sweep (docs/lifecycle.md): threads idle for `idleMs` are pruned by the TTL's strategy. Idleness is
 * read from the thread's records (a head moves with every checkpoint, the run record with every claimed run), and the
 * commit that prunes pins every one of them by version, so the judgement still holds when the keys are held: a run
 * or a resume that lands first makes the sweep's commit conflict, and the sweep reads the thread again and finds it
 * no longer idle. A thread a run holds is left alone (the run fence, `FENCED`). What a sweep removed is counted in
 * core records (`fenced-lifecycle/swept/*`) in the same commit: the event log shows each sweep, `/metrics` the totals.
 */
import { isErrorCode } from "../core/errors.js";
import { op } from "../core/ops.js";
import type { CommitRequest } from "../core/schemas.js";
import { ThreadKeys } from "./keys.js";
import {
  dropThread,
  notHead,
  removeCheckpoints,
  SWEEP_OWNER,
  SWEPT_KEYS,
  type LifecycleContext,
  type LifecycleCounts,
  type ThreadTtl,
} from "./lifecycle.js";

/** What a sweep did. */
export interface SweepCounts extends LifecycleCounts {
  /** Idle threads left alone because a run held them when the sweep came to commit. */
  busy: number;
}

/** The counter increments a sweep commits with what it removed. */
export function sweptCounters(kind: "threads" | "items", removed: number, checkpoints = 0): CommitRequest[] {
  const out: CommitRequest[] = [];
  if (removed > 0) out.push({ key: SWEPT_KEYS[kind], op: op.increment(removed), owner: SWEEP_OWNER });
  if (checkpoints > 0) out.push({ key: SWEPT_KEYS.checkpoints, op: op.increment(checkpoints), owner: SWEEP_OWNER });
  return out;
}

/** One sweep over every thread under the saver's key prefix. */
export async function sweepThreads(ctx: LifecycleContext, ttl: ThreadTtl): Promise<SweepCounts> {
  const idleBefore = ctx.store.now() - ttl.idleMs;
  const counts: SweepCounts = { threads: 0, checkpoints: 0, busy: 0 };
  for (const threadId of await idleThreads(ctx, idleBefore)) {
    const options = { idleBefore, owner: SWEEP_OWNER };
    const extra = (n: number) => sweptCounters("threads", 1, n);
    try {
      const removed =
        ttl.strategy === "delete"
          ? await dropThread(ctx, threadId, options, extra)
          : (await removeCheckpoints(ctx, threadId, notHead, options, extra))?.checkpoints;
      if (removed === undefined) continue;
      if (removed > 0 || ttl.strategy === "delete") counts.threads++, (counts.checkpoints += removed);
    } catch (err) {
      if (!isErrorCode(err, "FENCED")) throw err;
      counts.busy++;
    }
  }
  return counts;
}

/** Threads whose records (heads, run record) all last changed before `idleBefore`, as read now (a hint: the commit decides). */
async function idleThreads(ctx: LifecycleContext, idleBefore: number): Promise<string[]> {
  const last = new Map<string, number>();
  const prefix = `${ctx.keyPrefix}/`;
  for (let after: string | undefined; ; ) {
    const page = await ctx.store.list({ prefix, limit: 1000, ...(after !== undefined && { after }) });
    for (const r of page) {
      const threadId = ThreadKeys.threadOf(ctx.keyPrefix, r.key);
      if (threadId === undefined || r.key === new ThreadKeys(ctx.keyPrefix, threadId).history) continue;
      last.set(threadId, Math.max(last.get(threadId) ?? 0, r.updatedAt ?? 0));
    }
    if (page.length < 1000) break;
    after = page[page.length - 1]!.key;
  }
  return [...last].filter(([, at]) => at <= idleBefore).map(([threadId]) => threadId);
}
