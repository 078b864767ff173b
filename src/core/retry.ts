/**
 * The one retry loop of fenced-state: jittered exponential backoff ("full jitter"), and the two ways every caller uses
 * it: re-running a read-compute-commit on `VERSION_CONFLICT`, and resending a request with an opId on `UNAVAILABLE`.
 */
import { isErrorCode } from "./errors.js";

export interface BackoffOptions {
  /** Attempts after the first. Default 10. */
  retries?: number;
  /** First backoff ceiling in ms. Default 2. */
  baseMs?: number;
  /** Largest backoff ceiling in ms. Default 250. */
  maxMs?: number;
  /** Aborts the waiting between attempts. */
  signal?: AbortSignal;
}

/**
 * Calls `attempt(n)` until it resolves, retrying while `shouldRetry(err)` holds and attempts remain, sleeping a random
 * time in `[0, min(maxMs, baseMs · 2^n))` between tries. The last error is thrown unchanged (G6).
 */
export async function withBackoff<T>(
  attempt: (n: number) => Promise<T>,
  shouldRetry: (err: unknown) => boolean,
  options: BackoffOptions = {},
): Promise<T> {
  const { retries = 10, baseMs = 2, maxMs = 250, signal } = options;
  for (let n = 0; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      if (n >= retries || !shouldRetry(err)) throw err;
      signal?.throwIfAborted();
      await sleep(Math.random() * Math.min(maxMs, baseMs * 2 ** n), signal);
    }
  }
}

/**
 * Re-runs `attempt` — read, compute, commit with `expectVersion` — while it ends in `VERSION_CONFLICT` (default 50
 * retries). Never retries `FENCED`. Each attempt must read again: it is the read that makes the retry right.
 */
export function retryConflicts<T>(attempt: (n: number) => Promise<T>, options: BackoffOptions = {}): Promise<T> {
  return withBackoff(attempt, (err) => isErrorCode(err, "VERSION_CONFLICT"), { retries: 50, ...options });
}

/**
 * Resends a request that carries an opId while it ends in `UNAVAILABLE` (outcome unknown): the opId makes it apply at
 * most once (G3). Without an opId this would be unsafe; callers always set one.
 */
export function retryUnavailable<T>(attempt: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  return withBackoff(attempt, (err) => isErrorCode(err, "UNAVAILABLE"), {
    retries: 5,
    baseMs: 10,
    maxMs: 1000,
    ...(signal && { signal }),
  });
}

/** Resolves after `ms`, or rejects when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
