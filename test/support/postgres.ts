/** PostgreSQL helpers for the postgres suites (vitest only: they use `expect`). */
import { expect } from "vitest";
import type { StateEvent, StateStore } from "../../src/index.js";
import { withPgClient } from "./backends.js";

/**
 * Watches `prefix` on `watcher` (whose pool runs under application name `app`) so that only a NOTIFY can deliver an
 * event in time (pollMs of a minute); once its LISTEN shows in pg_stat_activity and its catch-up read has parked, runs
 * `commit`, and answers what it returned and the first event the watch yields within 5 s (or `"timeout"`).
 */
export async function firstNotified<T>(
  watcher: StateStore,
  prefix: string,
  app: string,
  commit: () => Promise<T>,
): Promise<{ committed: T; first: IteratorResult<StateEvent> | "timeout" }> {
  const from = (await watcher.backend.lastSeq()) + 1;
  const stop = new AbortController();
  const iterator = watcher.watch(prefix, { fromSeq: from, signal: stop.signal, pollMs: 60_000 });
  const next = iterator.next();
  try {
    await listening(app);
    const committed = await commit();
    const first = await Promise.race([next, new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 5000))]);
    return { committed, first };
  } finally {
    stop.abort();
    await iterator.return(undefined);
  }
}

/**
 * Resolves once a connection of the pool named `app` has run LISTEN (pg_stat_activity shows it), and 200 ms more, so
 * the watcher's catch-up read has finished and parked: from then on only a NOTIFY or a poll wakes it.
 */
export async function listening(app: string): Promise<void> {
  await expect
    .poll(
      () =>
        withPgClient((c) =>
          c.query("SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN%'", [app]),
        ),
      { timeout: 5000 },
    )
    .toMatchObject({ rowCount: 1 });
  await new Promise((r) => setTimeout(r, 200));
}
