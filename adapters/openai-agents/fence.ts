/**
 * Run fences: the claims an agent run holds, carried in its run context (G2).
 *
 * The SDK hands the same `RunContext` to every tool call, every handoff and every session write of one run, so the
 * fence put there travels with the run: a handoff keeps it, and a newer run that reclaims a key makes every later write
 * of the older run `FENCED`.
 */
import { RunContext } from "@openai/agents";
import { z } from "zod";
import { isErrorCode, withBackoff, type Claim, type StateStore } from "../../src/index.js";

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
 * What to do when another run holds one of the keys (double-texting):
 * `reject` throws `CLAIM_HELD`; `interrupt` reclaims, so the older run is `FENCED` at its next write;
 * `enqueue` waits (bounded backoff) until the keys are free.
 */
export type BusyPolicy = "reject" | "interrupt" | "enqueue";

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
  /** `enqueue`: how many times to retry a held claim before giving up with `CLAIM_HELD`. Default 200. */
  enqueueRetries?: number;
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
export async function withFencedRun<T>(
  store: StateStore,
  options: FencedRunOptions,
  fn: (run: FencedRun) => Promise<T>,
): Promise<T> {
  // Claiming in one global order keeps two enqueued runs over overlapping keys from starving each other.
  const keys = [...new Set(options.keys)].sort();
  let started = false;
  const attempt = () =>
    holdClaims(store, keys, options, [], [], (claims, signals) => {
      started = true;
      const fence: RunFence = { owner: options.owner, epochs: Object.fromEntries(claims.map((c) => [c.key, c.epoch])) };
      const all = options.signal ? [...signals, options.signal] : signals;
      return fn({ fence, context: { fence }, signal: AbortSignal.any(all) });
    });
  if (options.onBusy !== "enqueue") return attempt();
  return withBackoff(attempt, (err) => !started && isErrorCode(err, "CLAIM_HELD"), {
    retries: options.enqueueRetries ?? 200,
    baseMs: 5,
    maxMs: 100,
    ...(options.signal && { signal: options.signal }),
  });
}

/** Nests the core's `withClaim` once per key, so renewal and release stay the core's. */
function holdClaims<T>(
  store: StateStore,
  keys: string[],
  options: FencedRunOptions,
  claims: Claim[],
  signals: AbortSignal[],
  fn: (claims: Claim[], signals: AbortSignal[]) => Promise<T>,
): Promise<T> {
  const key = keys[claims.length];
  if (key === undefined) return fn(claims, signals);
  return store.withClaim(key, (claim, signal) => holdClaims(store, keys, options, [...claims, claim], [...signals, signal], fn), {
    owner: options.owner,
    ...(options.ttlMs !== undefined && { ttlMs: options.ttlMs }),
    ...(options.renewEveryMs !== undefined && { renewEveryMs: options.renewEveryMs }),
    ...(options.onBusy === "interrupt" && { steal: true }),
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}
