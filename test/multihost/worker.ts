/**
 * One "host" of the multi-host test: a separate OS process with its own `StateStore` (its own connection pool) on
 * the shared Postgres schema. Talks JSON lines: it prints `{"ready":…}`, waits for `go` on stdin, works, prints
 * `{"done":…}` and exits.
 *
 * Roles:
 * - `load`: concurrent `update()` increments of one counter, two-key txns in random order, and claim/steal/commit
 *   rounds on one job key (some of its commits are fenced because another host stole the job meanwhile);
 * - `zombie`: claims a key, reports its epoch, waits for `go` (meanwhile the test steals the key), then commits
 *   under the old epoch and reports the outcome.
 */
import { createInterface } from "node:readline";
import { randomUUID } from "node:crypto";
import { FencedStateError, isErrorCode, openStore, op, withBackoff, type StateStore } from "../../src/index.js";
import { sleep } from "../../src/core/retry.js";

export interface WorkerConfig {
  role: "load" | "zombie";
  id: string;
  url: string;
  schema: string;
  /** load: per-lane counts. */
  lanes?: number;
  increments?: number;
  txns?: number;
  claims?: number;
}

/** One acknowledged append to the job log: who, which round, under which epoch. */
export type JobEntry = {
  worker: string;
  round: number;
  epoch: number;
};

export interface LoadReport {
  increments: number;
  txns: number;
  acked: JobEntry[];
  fenced: number;
  /** UNAVAILABLE answers retried with the same opId, as a client should (outcome unknown, applied at most once). */
  unavailableRetries: number;
  errors: string[];
}

const config = JSON.parse(process.argv[2]!) as WorkerConfig;
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const say = (message: object) => process.stdout.write(`${JSON.stringify(message)}\n`);
const waitForGo = async () => {
  const line = await lines.next();
  if (line.done || line.value.trim() !== "go") throw new Error(`expected "go", got ${JSON.stringify(line.value)}`);
};

async function load(store: StateStore): Promise<LoadReport> {
  const report: LoadReport = { increments: 0, txns: 0, acked: [], fenced: 0, unavailableRetries: 0, errors: [] };
  const retryingUnavailable = <T>(attempt: () => Promise<T>) =>
    withBackoff(attempt, (err) => isErrorCode(err, "UNAVAILABLE") && ++report.unavailableRetries > 0, {
      retries: 5,
      maxMs: 500,
    });
  const lane = async (laneId: number) => {
    for (let i = 0; i < (config.increments ?? 0); i++) {
      await store.update("mh/counter", (n) => ((n as number | undefined) ?? 0) + 1, { retries: 500, maxMs: 50 });
      report.increments++;
    }
    for (let i = 0; i < (config.txns ?? 0); i++) {
      const keys = Math.random() < 0.5 ? ["mh/a", "mh/b"] : ["mh/b", "mh/a"];
      const opId = randomUUID();
      await retryingUnavailable(() =>
        store.txn(
          keys.map((key) => ({ key, op: op.increment(1) })),
          { opId },
        ),
      );
      report.txns++;
    }
    for (let i = 0; i < (config.claims ?? 0); i++) {
      const round = laneId * 1_000_000 + i;
      const claim = await store.claim({ key: "mh/job", owner: config.id, ttlMs: 10_000, steal: true });
      await sleep(Math.random() * 3); // a window in which another host may steal the job
      try {
        const entry: JobEntry = { worker: config.id, round, epoch: claim.epoch };
        const request = {
          key: "mh/job",
          op: op.append(entry),
          epoch: claim.epoch,
          owner: config.id,
          opId: randomUUID(),
        };
        await retryingUnavailable(() => store.commit(request));
        report.acked.push(entry);
      } catch (err) {
        if (err instanceof FencedStateError && err.code === "FENCED") report.fenced++;
        else throw err;
      }
    }
  };
  const results = await Promise.allSettled(Array.from({ length: config.lanes ?? 1 }, (_, l) => lane(l)));
  for (const r of results) if (r.status === "rejected") report.errors.push(String(r.reason));
  return report;
}

async function zombie(store: StateStore): Promise<unknown> {
  const claim = await store.claim({ key: "mh/zombie", owner: config.id, ttlMs: 60_000 });
  say({ claimed: claim });
  await waitForGo();
  try {
    return {
      committed: await store.commit({ key: "mh/zombie", op: op.set(config.id), epoch: claim.epoch, owner: config.id }),
    };
  } catch (err) {
    return { error: err instanceof FencedStateError ? err.toJSON().error : String(err) };
  }
}

const store = await openStore({ url: config.url, schema: config.schema, pool: { max: 4 } });
try {
  if (config.role === "load") {
    say({ ready: config.id });
    await waitForGo();
    say({ done: await load(store) });
  } else {
    say({ done: await zombie(store) });
  }
} finally {
  await store.close();
  process.stdin.destroy();
}
