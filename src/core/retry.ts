/** The one retry loop of fenced-state: jittered exponential backoff ("full jitter"). */

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
