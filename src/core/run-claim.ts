/**
 * The one claim-and-run helper (docs/design.md §4 claims): claim a set of keys for a run, tell the run at once when it
 * loses one of them, and decide what a second run does while the first holds them (double-texting). The LangGraph run
 * claims (`multitaskStrategy`) and the OpenAI Agents adapter (`onBusy`) are both this function; only the names differ.
 *
 * Losing a claim is decided by the core, not here: a run whose claim was taken is `FENCED` at its next commit whatever
 * this helper notices. The helper only makes the loss visible early, through `signal`.
 */
import { FencedError, isErrorCode } from "./errors.js";
import { parseInput } from "./validate.js";
import { withBackoff } from "./retry.js";
import { ClaimAndRunOptionsSchema, type Claim } from "./schemas.js";
import type { StateStore } from "./store.js";

/**
 * What a run does when another run holds one of its keys:
 * - `reject`: `ClaimHeldError` (`CLAIM_HELD`), nothing runs;
 * - `enqueue`: wait until the keys are free (at most `waitMs`), then run;
 * - `interrupt`: take the keys; the older run's `signal` aborts and its next commit under the old epoch is `FENCED`.
 */
export type OnBusy = "reject" | "enqueue" | "interrupt";

export interface ClaimAndRunOptions {
  /** Names the run in its claims and in the event log. */
  owner: string;
  /** The keys to hold for the whole run; claimed in sorted order, so two runs over overlapping keys cannot deadlock. */
  keys: readonly string[];
  /** Default `"reject"`. */
  onBusy?: OnBusy;
  /** Lease length, renewed in the background every `renewEveryMs`. Default 30 s. */
  ttlMs?: number;
  /** Default a third of `ttlMs`. */
  renewEveryMs?: number;
  /** `enqueue`: how long to wait for the keys before giving up with `CLAIM_HELD`. Default 60 s. */
  waitMs?: number;
  /** Cancels the wait (`enqueue`) and is folded into the run's `signal`. */
  signal?: AbortSignal;
  /** How often another process's steal is looked for in the event log. Default 50 ms. */
  pollMs?: number;
}

/** A run holding its keys. */
export interface HeldRun {
  owner: string;
  /** One claim per key, in key order. */
  claims: Claim[];
  /** The fencing token per key: present it on every commit the run makes. */
  epochs: { [key: string]: number };
  /**
   * Aborts when the run loses a key — another run took it (seen in the event log, at once in this process, within
   * `pollMs` in others), or a renewal was fenced — with the `FencedError` as its reason; or when `options.signal` aborts.
   */
  signal: AbortSignal;
}

/**
 * Claims `options.keys`, runs `fn` while renewing the claims, then releases them. The one waiting rule: `enqueue`
 * retries a held claim with jittered backoff (5 ms doubling to 200 ms) until `waitMs` has passed on the store's
 * clock; an error from the run itself is never retried.
 *
 * @example
 * ```ts
 * await claimAndRun(store, { owner: "run-7", keys: ["team/plan"], onBusy: "enqueue" }, async ({ epochs, signal }) => {
 *   await store.commit({ key: "team/plan", op: op.set("v2"), epoch: epochs["team/plan"], owner: "run-7" });
 * });
 * ```
 */
export async function claimAndRun<T>(
  store: StateStore,
  options: ClaimAndRunOptions,
  fn: (run: HeldRun) => Promise<T>,
): Promise<T> {
  parseInput(ClaimAndRunOptionsSchema, options);
  const keys = [...new Set(options.keys)].sort();
  const onBusy = options.onBusy ?? "reject";
  let started = false;
  const attempt = () =>
    holdAll(store, keys, options, [], [], (claims, lost) => {
      started = true;
      return runWatched(store, options, claims, lost, fn);
    });
  if (onBusy !== "enqueue") return attempt();
  const deadline = store.now() + (options.waitMs ?? 60_000);
  return withBackoff(attempt, (err) => !started && isErrorCode(err, "CLAIM_HELD") && store.now() < deadline, {
    retries: Number.MAX_SAFE_INTEGER,
    baseMs: 5,
    maxMs: 200,
    ...(options.signal && { signal: options.signal }),
  });
}

/** Nests the store's `withClaim` once per key, so renewal and release stay the store's. */
function holdAll<T>(
  store: StateStore,
  keys: string[],
  options: ClaimAndRunOptions,
  claims: Claim[],
  lost: AbortSignal[],
  fn: (claims: Claim[], lost: AbortSignal[]) => Promise<T>,
): Promise<T> {
  const key = keys[claims.length];
  if (key === undefined) return fn(claims, lost);
  return store.withClaim(
    key,
    (claim, signal) => holdAll(store, keys, options, [...claims, claim], [...lost, signal], fn),
    {
      owner: options.owner,
      ttlMs: options.ttlMs ?? 30_000,
      ...(options.renewEveryMs !== undefined && { renewEveryMs: options.renewEveryMs }),
      ...(options.onBusy === "interrupt" && { steal: true }),
    },
  );
}

/** Runs `fn` with a signal that aborts as soon as a newer claim on one of the keys shows in the event log. */
async function runWatched<T>(
  store: StateStore,
  options: ClaimAndRunOptions,
  claims: Claim[],
  lost: AbortSignal[],
  fn: (run: HeldRun) => Promise<T>,
): Promise<T> {
  const taken = new AbortController();
  const stop = new AbortController();
  const signal = AbortSignal.any([...lost, taken.signal, ...(options.signal ? [options.signal] : [])]);
  const epochs = Object.fromEntries(claims.map((c) => [c.key, c.epoch]));
  const watching = claims.map(async (held) => {
    for await (const e of store.watch(held.key, { signal: stop.signal, pollMs: options.pollMs ?? 50 })) {
      if (e.key === held.key && e.outcome === "claimed" && e.epoch > held.epoch) {
        taken.abort(
          new FencedError({ key: held.key, heldEpoch: held.epoch, currentEpoch: e.epoch, reason: "superseded" }),
        );
        return;
      }
    }
  });
  try {
    return await fn({ owner: options.owner, claims, epochs, signal });
  } catch (err) {
    // A framework reports an aborted run with its own error; the caller should see why the run was aborted.
    if (signal.aborted && signal.reason instanceof FencedError && !isErrorCode(err, "FENCED")) throw signal.reason;
    throw err;
  } finally {
    stop.abort();
    await Promise.all(watching.map((w) => w.catch(() => undefined)));
  }
}
