/**
 * Runs on a thread: run claims with LangGraph's double-texting strategies (`reject`, `enqueue`, `interrupt`), and a
 * retry helper that re-runs a conflicted invoke from the new head when its input means the same there (`rerun.ts`). Both sit on the saver's fencing: a claimed run
 * presents its epoch on every put and putWrites (G2); an unclaimed stale run is rejected by the lineage fence (G7).
 */
import { randomUUID } from "node:crypto";
import type { RunnableConfig } from "@langchain/core/runnables";
import { isUnknownInterruptError, type Command } from "@langchain/langgraph";
import { InvalidInputError, VersionConflictError, isErrorCode } from "../core/errors.js";
import { withBackoff, type BackoffOptions } from "../core/retry.js";
import { claimAndRun, type OnBusy } from "../core/run-claim.js";
import type { Claim } from "../core/schemas.js";
import type { Json } from "../core/json.js";
import { op } from "../core/ops.js";
import { FENCED_CONFIG_KEYS } from "./config.js";
import { removeCheckpoints, runIdOf, writeKey } from "./lifecycle.js";
import type { ThreadRunRecord } from "./status.js";
import { ThreadKeys, threadIdOf } from "./keys.js";
import {
  answeredInterrupts,
  defaultVerdict,
  inputKind,
  isResumeMap,
  pendingInterrupts,
  type RerunCheck,
} from "./rerun.js";
import { FencedCheckpointSaver } from "./saver.js";

/** LangGraph's configurable key for strict resume (`CONFIG_KEY_STRICT_RESUME`, not exported by the package). */
const STRICT_RESUME = "__pregel_strict_resume";

/**
 * What a second run does while another run holds the thread (LangGraph's `multitask_strategy`): the core's `OnBusy`,
 * and `rollback`, which takes the thread as `interrupt` does and then deletes what the running run landed.
 */
export type MultitaskStrategy = OnBusy | "rollback";

export interface ThreadClaimOptions {
  /** `reject` (default): `ClaimHeldError`. `enqueue`: wait for the thread. `interrupt`: take it; the old run is
   * `FencedError` at its next put or putWrites, and its `signal` aborts. `rollback`: as `interrupt`, and the old run's
   * checkpoints and the writes it added are deleted: the thread is back at the head it had before that run. */
  multitaskStrategy?: MultitaskStrategy;
  /** The run's id, stamped on its checkpoints as `metadata.run_id` (`deleteForRuns`). Default a fresh uuid. */
  runId?: string;
  /** Who runs: kept in the claim and the event log. Default `run-<uuid>`. */
  owner?: string;
  /** Lease length, renewed in the background every third of it. Default 30 s. */
  ttlMs?: number;
  /** `enqueue`: how long to wait for the thread before giving up with `ClaimHeldError`. Default 60 s. */
  waitMs?: number;
  /** Cancels the wait (`enqueue`). */
  signal?: AbortSignal;
}

/** A run holding its thread. */
export interface ThreadRun<C extends RunnableConfig = RunnableConfig> {
  /** The caller's config plus the run's fencing token, owner, run id and `signal`: pass it to `invoke`/`stream`. */
  config: C;
  claim: Claim;
  /** Stamped on the run's checkpoints as `metadata.run_id` (`configurable.run_id`). */
  runId: string;
  /** Aborts, with the `FencedError` as reason, when another run takes the thread. */
  signal: AbortSignal;
}

/** The part of a compiled LangGraph graph these helpers use. */
export interface InvokableGraph<I, C extends RunnableConfig, O> {
  invoke(input: I, config?: C): Promise<O>;
  checkpointer?: unknown;
}

/**
 * Claims the thread named by `config`, runs `fn` with a fenced config while renewing the claim, and releases it.
 *
 * @example
 * ```ts
 * await withThreadClaim(saver, { configurable: { thread_id: "t1" } }, (run) => graph.invoke(input, run.config),
 *   { multitaskStrategy: "enqueue" });
 * ```
 */
export async function withThreadClaim<T, C extends RunnableConfig>(
  saver: FencedCheckpointSaver,
  config: C,
  fn: (run: ThreadRun<C>) => Promise<T>,
  options: ThreadClaimOptions = {},
): Promise<T> {
  const keys = new ThreadKeys(saver.keyPrefix, threadIdOf(config.configurable?.thread_id, "withThreadClaim"));
  const signals = [options.signal, config.signal].filter((s): s is AbortSignal => s !== undefined);
  const strategy = options.multitaskStrategy ?? "reject";
  const given = config.configurable?.run_id;
  const runId = options.runId ?? (typeof given === "string" && given !== "" ? given : randomUUID());
  // A rollback takes back the run that held the thread when it was taken: the claim read just before the steal.
  const previous = strategy === "rollback" ? await saver.store.currentClaim(keys.claimKey) : null;
  return claimAndRun(
    saver.store,
    {
      owner: options.owner ?? `run-${randomUUID()}`,
      keys: [keys.claimKey],
      onBusy: strategy === "rollback" ? "interrupt" : strategy,
      ttlMs: options.ttlMs ?? 30_000,
      ...(options.waitMs !== undefined && { waitMs: options.waitMs }),
      ...(signals.length > 0 && { signal: AbortSignal.any(signals) }),
    },
    async (held) => {
      const claim = held.claims[0]!;
      if (previous) await rollbackRun(saver, keys, claim, previous.epoch);
      const record = await recordRun(saver, keys, claim, runId);
      const configurable = {
        ...config.configurable,
        [FENCED_CONFIG_KEYS.epoch]: claim.epoch,
        [FENCED_CONFIG_KEYS.owner]: claim.owner,
        run_id: runId,
      };
      try {
        return await fn({
          claim,
          runId,
          signal: held.signal,
          config: { ...config, signal: held.signal, configurable },
        });
      } finally {
        await forgetRun(saver, keys, claim, record);
      }
    },
  );
}

/** Records the run on its thread (`ThreadRunRecord`: `threadStatus`, `rollback`), under its claim; returns the record's version. */
async function recordRun(saver: FencedCheckpointSaver, keys: ThreadKeys, claim: Claim, runId: string): Promise<number> {
  const start = await saver.lifecycle.checkpoints.getHeadCheckpoint({
    threadId: keys.threadId,
    ns: "",
    headKey: keys.head(""),
  });
  const record: ThreadRunRecord = {
    runId,
    owner: claim.owner,
    epoch: claim.epoch,
    since: saver.store.now(),
    startCheckpointId: start?.checkpointId ?? null,
    startWrites: start?.writes.map(writeKey) ?? [],
  };
  const result = await saver.store.commit({
    key: keys.run,
    op: op.set(record as unknown as Json),
    owner: claim.owner,
    guards: [{ key: keys.claimKey, epoch: claim.epoch }],
  });
  return result.version;
}

/**
 * Deletes the run's record when it ends; a record another run has replaced, or a claim lost, leaves it be. A failure
 * here never replaces the run's own outcome: a record left behind is replaced by the thread's next claimed run.
 */
async function forgetRun(saver: FencedCheckpointSaver, keys: ThreadKeys, claim: Claim, version: number): Promise<void> {
  await saver.store
    .commit({
      key: keys.run,
      op: op.delete(),
      expectVersion: version,
      owner: claim.owner,
      guards: [{ key: keys.claimKey, epoch: claim.epoch }],
    })
    .catch((err: unknown) => {
      if (isErrorCode(err, "FENCED") || isErrorCode(err, "VERSION_CONFLICT") || isErrorCode(err, "CLOSED")) return;
      process.emitWarning(`fenced-state: could not clear the run record of thread "${keys.threadId}": ${String(err)}`);
    });
}

/**
 * `rollback`: the run that held the thread under `previousEpoch` (its record says which) loses its checkpoints, in
 * every namespace, and the writes it added to the checkpoint it started from; the head goes back to that checkpoint.
 * One commit under the new claim (`claim`), so the old run, already fenced by the steal, cannot land anything after.
 */
async function rollbackRun(
  saver: FencedCheckpointSaver,
  keys: ThreadKeys,
  claim: Claim,
  previousEpoch: number,
): Promise<void> {
  const run = await saver.store.read(keys.run);
  const record = run.exists ? (run.value as unknown as ThreadRunRecord) : undefined;
  if (record?.epoch !== previousEpoch) return; // that run had not started yet: it landed nothing
  await removeCheckpoints(saver.lifecycle, keys.threadId, (row) => runIdOf(row) === record.runId, {
    epoch: claim.epoch,
    owner: claim.owner,
    ...(record.startCheckpointId !== null && {
      startWrites: { checkpointId: record.startCheckpointId, keep: new Set(record.startWrites) },
    }),
  });
}

/** `graph.invoke(input)` while holding the thread, under a double-texting strategy. */
export function invokeWithClaim<I, C extends RunnableConfig, O>(
  graph: InvokableGraph<I, C, O>,
  input: I,
  config: C,
  options: ThreadClaimOptions = {},
): Promise<O> {
  return withThreadClaim(fencedSaverOf(graph), config, (run) => graph.invoke(input, run.config), options);
}

export interface InvokeWithRetryOptions<I = unknown> extends BackoffOptions {
  /**
   * LangGraph durability for each attempt. Default `"exit"`: an attempt's history lands in one put at its end, so a
   * conflicted attempt has landed nothing and re-running its input from the new head is exactly right.
   */
  durability?: "exit" | "sync" | "async";
  /**
   * Decides whether a conflicted attempt that landed nothing runs again, given the helper's own verdict
   * (`check.rerun`, `check.reason`; see {@link InvokeInputKind}). Return `check.rerun` to keep it. Never consulted for
   * an attempt that landed part of its run: that one is never re-run.
   */
  mayRerun?: (check: RerunCheck<I>) => boolean;
}

/**
 * `graph.invoke(input, config)` from the thread's head; on `VersionConflictError` (another run advanced the thread)
 * it re-runs the input from the new head, with jittered backoff, so concurrent invokes all count, but only inputs
 * whose meaning does not depend on the state they were computed from:
 * - new input (a state update for the input channels) is re-run;
 * - `Command({ resume })` is re-run only while every interrupt it answered (by id: the keys of a resume map, else the
 *   interrupts pending when the attempt started) is still pending at the new head, so an answer to "approve step 1?"
 *   never becomes the answer to the next question;
 * - `null` (continue) and `Command({ update })` / `Command({ goto })` are not re-run;
 * - an attempt that landed part of its run (possible with `durability` `"sync"` or `"async"`) is never re-run, as its
 *   input would apply twice: its error has `details.partial` and `details.landed`, and `retryable` false.
 * When it does not re-run, it throws the attempt's `VersionConflictError` with `details.notRetried` saying why.
 * A resume map naming an interrupt that is not pending gets that error before anything runs (LangGraph would ignore
 * the answer). Nodes run again on every attempt: side effects outside the graph must be idempotent.
 *
 * @example
 * ```ts
 * await Promise.all([invokeWithRetry(graph, { n: 1 }, cfg), invokeWithRetry(graph, { n: 1 }, cfg)]); // both count
 * await invokeWithRetry(graph, new Command({ resume: { [interruptId]: "approve" } }), cfg); // only that question
 * ```
 */
export async function invokeWithRetry<I, C extends RunnableConfig, O>(
  graph: InvokableGraph<I, C, O>,
  input: I,
  config: C,
  options: InvokeWithRetryOptions<I> = {},
): Promise<O> {
  const saver = fencedSaverOf(graph);
  if (config.configurable?.checkpoint_id !== undefined) {
    throw new InvalidInputError({
      issues: [
        {
          path: ["configurable", "checkpoint_id"],
          message: "invokeWithRetry runs from the head; fork with forkConfig instead",
        },
      ],
    });
  }
  const { durability = "exit", mayRerun, ...backoff } = options;
  const kind = inputKind(input);
  const head = () => saver.getTuple({ configurable: { thread_id: config.configurable?.thread_id, checkpoint_ns: "" } });
  // A resume answers the interrupts pending where it starts: each attempt reads the head first to pin them down.
  const firstHead = kind === "resume" ? await head() : undefined;
  const addressed = kind === "resume" && isResumeMap((input as Command).resume);
  if (addressed) {
    const verdict = defaultVerdict(
      "resume",
      Object.keys((input as Command).resume as object),
      true,
      pendingInterrupts(firstHead),
    );
    if (!verdict.rerun) throw await unansweredConflict(saver, config.configurable?.thread_id, verdict.reason);
  }
  return withBackoff(
    async (n) => {
      const start = kind !== "resume" ? undefined : n === 0 ? firstHead : await head();
      const attempt = randomUUID();
      saver.trackAttempt(attempt);
      try {
        const configurable = {
          ...config.configurable,
          [FENCED_CONFIG_KEYS.attempt]: attempt,
          // LangGraph's strict resume refuses a resume map naming an interrupt not pending where the run loads the
          // thread, instead of ignoring the answer: closes the gap between the check above and the attempt's load.
          ...(addressed && { [STRICT_RESUME]: true }),
        };
        return await graph.invoke(input, { ...config, durability, configurable } as C);
      } catch (err) {
        if (isUnknownInterruptError(err))
          throw await unansweredConflict(saver, config.configurable?.thread_id, err.message);
        if (!isErrorCode(err, "VERSION_CONFLICT") || err.details.partial === true) throw err;
        const now = await head();
        const pending = pendingInterrupts(now);
        const answers = kind === "resume" ? answeredInterrupts(input, pendingInterrupts(start)) : [];
        const knownStart = start !== undefined && err.details.parentCheckpointId === start.checkpoint.id;
        const verdict = defaultVerdict(kind, answers, knownStart, pending);
        const rerun = mayRerun ? mayRerun({ input, kind, conflict: err, answers, pending, ...verdict }) : verdict.rerun;
        throw rerun
          ? err
          : notRerun(err, mayRerun && verdict.rerun ? "the mayRerun predicate refused it" : verdict.reason);
      } finally {
        saver.untrackAttempt(attempt);
      }
    },
    (err) => isErrorCode(err, "VERSION_CONFLICT") && err.retryable && err.details.notRetried === undefined,
    { retries: 20, baseMs: 5, maxMs: 200, ...backoff },
  );
}

/** The saver a graph was compiled with, which must be a `FencedCheckpointSaver`. */
export function fencedSaverOf(graph: { checkpointer?: unknown }): FencedCheckpointSaver {
  if (graph.checkpointer instanceof FencedCheckpointSaver) return graph.checkpointer;
  throw new InvalidInputError({
    issues: [{ path: ["graph", "checkpointer"], message: "compile the graph with a FencedCheckpointSaver" }],
  });
}

/** The conflict of an attempt invokeWithRetry does not re-run, saying why. */
function notRerun(err: VersionConflictError, reason: string): VersionConflictError {
  return new VersionConflictError(
    { ...err.details, notRetried: reason },
    `${err.message} invokeWithRetry did not re-run it: ${reason}.`,
  );
}

/**
 * The conflict for a resume map naming an interrupt that is not pending (another run answered it, or it never
 * existed): LangGraph would ignore the answer, so nothing is run and the caller is told.
 */
async function unansweredConflict(
  saver: FencedCheckpointSaver,
  thread: unknown,
  reason: string,
): Promise<VersionConflictError> {
  const threadId = threadIdOf(thread, "invokeWithRetry");
  const record = await saver.store.read(new ThreadKeys(saver.keyPrefix, threadId).head(""));
  const head =
    (await saver.getTuple({ configurable: { thread_id: threadId, checkpoint_ns: "" } }))?.checkpoint.id ?? null;
  return new VersionConflictError(
    {
      key: record.key,
      expectedVersion: null,
      actualVersion: record.version,
      threadId,
      headCheckpointId: head,
      notRetried: reason,
    },
    `thread "${threadId}": ${reason}; nothing was run.`,
  );
}
