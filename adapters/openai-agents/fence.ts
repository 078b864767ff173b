/**
 * Run fences: the claims an agent run holds, carried in its run context (G2).
 *
 * The SDK hands the same `RunContext` to every tool call, every handoff and every session write of one run, so the
 * fence put there travels with the run: a handoff keeps it, and a newer run that reclaims a key makes every later write
 * of the older run `FENCED`.
 */
import { RunContext } from "@openai/agents";
import { z } from "zod";
import { claimAndRun, type OnBusy, type StateStore } from "../../src/index.js";

/** The claims one run holds: its owner name and the fencing token (epoch) per claimed key. Plain JSON, like a context. */
export interface RunFence {
  /** Who holds the claims; recorded in the event log with every commit the run makes. */
  owner: string;
  /** The epoch to present on commits, per claimed key. */
  epochs: { [key: string]: number };
}

/** The run-context shape fenced-state reads. Add `fence` next to your own context fields. */
export interface FencedContext {
  fence?: RunFence;
}

const RunFenceSchema = z.object({ owner: z.string().min(1), epochs: z.record(z.string(), z.number().int().min(0)) });

/**
 * The fence carried by a run context (the SDK's `RunContext` or the context object you passed to `run`), or
 * `undefined` when the run holds no claims. A malformed `fence` field is treated as none: such a run then presents no
 * epoch, which the core rejects while anyone holds a claim on the key (no bypass).
 */
export function fenceOf(context: unknown): RunFence | undefined {
  const inner: unknown = context instanceof RunContext ? context.context : context;
  if (!isRecord(inner)) return undefined;
  const parsed = RunFenceSchema.safeParse(inner.fence);
  return parsed.success ? parsed.data : undefined;
}

/** The epoch `fence` holds for `key`, if it claimed that key. */
export function epochFor(fence: RunFence | undefined, key: string): number | undefined {
  return fence && Object.hasOwn(fence.epochs, key) ? fence.epochs[key] : undefined;
}

/**
 * What to do when another run holds one of the keys (double-texting), the core's `OnBusy`:
 * `reject` throws `CLAIM_HELD`; `interrupt` reclaims, so the older run is `FENCED` at its next write and its `signal`
 * aborts; `enqueue` waits (at most `waitMs`) until the keys are free.
 */
export type BusyPolicy = OnBusy;

export interface FencedRunOptions {
  /** Names this run in claims and in the event log, e.g. `run-${requestId}`. */
  owner: string;
  /** Keys to claim for the whole run (a `FencedSession` adds its own key). */
  keys: string[];
  /** Default `"reject"`. */
  onBusy?: BusyPolicy;
  /** Lease length, renewed in the background while the run lasts. Default 10 s. */
  ttlMs?: number;
  /** Renewal period. Default a third of `ttlMs`. */
  renewEveryMs?: number;
  /** `enqueue`: how long to wait for the keys before giving up with `CLAIM_HELD`. Default 60 s. */
  waitMs?: number;
  /** Stops waiting (`enqueue`) and is folded into the run's `signal`. */
  signal?: AbortSignal;
}

/** What `withFencedRun` hands the run. */
export interface FencedRun {
  fence: RunFence;
  /** `{ fence }`: pass as `run(agent, input, { context })`, or spread your own fields next to it. */
  context: FencedContext & { fence: RunFence };
  /** Aborts when a renewal finds the run fenced (or `options.signal` aborts): pass it to `run(…, { signal })`. */
  signal: AbortSignal;
}

/**
 * Claims `options.keys` for one run, calls `fn` with the fence, renews the claims while `fn` runs, then releases them.
 *
 * @example
 * ```ts
 * const result = await withFencedRun(store, { owner: "run-7", keys: ["team/plan"], onBusy: "interrupt" },
 *   ({ context, signal }) => run(agent, "update the plan", { context, signal }));
 * ```
 */
export function withFencedRun<T>(
  store: StateStore,
  options: FencedRunOptions,
  fn: (run: FencedRun) => Promise<T>,
): Promise<T> {
  const { owner, keys, onBusy, ttlMs, renewEveryMs, waitMs, signal } = options;
  return claimAndRun(
    store,
    {
      owner,
      keys,
      ttlMs: ttlMs ?? 10_000,
      ...(onBusy !== undefined && { onBusy }),
      ...(renewEveryMs !== undefined && { renewEveryMs }),
      ...(waitMs !== undefined && { waitMs }),
      ...(signal !== undefined && { signal }),
    },
    (held) => {
      const fence: RunFence = { owner, epochs: held.epochs };
      return fn({ fence, context: { fence }, signal: held.signal });
    },
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}
