/** The event log's reader: `watch(prefix, { fromSeq })` as an async iterator (docs/design.md §3). */
import type { Backend } from "./backend.js";
import type { StateEvent } from "./schemas.js";

export interface WatchOptions {
  /** First seq to deliver (inclusive). Default: only events after the watch starts. */
  fromSeq?: number;
  /** Ends the iteration. */
  signal?: AbortSignal;
  /**
   * How often to look for events from other processes when no local wake-up came, in ms. Default 100. Backends that
   * hear other hosts' commits (Postgres LISTEN/NOTIFY) wake the watcher sooner.
   */
  pollMs?: number;
}

/** Yields every event whose key starts with `prefix`, in seq order, until `signal` aborts. */
export async function* watchEvents(
  backend: Backend,
  prefix: string,
  options: WatchOptions = {},
): AsyncGenerator<StateEvent> {
  const { signal, pollMs = 100 } = options;
  let after = options.fromSeq === undefined ? await backend.lastSeq() : options.fromSeq - 1;
  let wake: (() => void) | undefined;
  let pending = false;
  const unsubscribe = backend.subscribe(() => {
    pending = true;
    wake?.();
  });
  const onAbort = () => wake?.();
  signal?.addEventListener("abort", onAbort);
  try {
    while (!signal?.aborted) {
      pending = false;
      const events = await backend.readEvents({ prefix, afterSeq: after, limit: 500 });
      for (const e of events) {
        after = e.seq;
        yield e;
        if (signal?.aborted) return;
      }
      if (events.length === 500 || pending) continue;
      // An abort that came while the events were being read found no wake-up to call: do not sleep through it.
      if (signal?.aborted) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  } finally {
    unsubscribe();
    signal?.removeEventListener("abort", onAbort);
  }
}
