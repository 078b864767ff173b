/**
 * One worker process of examples/work-queue: leases tasks, "works" on each (a short sleep), then completes it with a
 * state write in the same txn. It reports on stdout, one JSON line per step, so main.ts knows when to kill or stop
 * it mid-task. It trusts nothing it remembers: a completion after its lease lapsed is FENCED by the store.
 *
 *   node --import tsx examples/work-queue/worker.ts <db> <queue> <worker-id>
 */
import { isErrorCode, op, openStore } from "../../src/index.js";
import { setTimeout as sleep } from "node:timers/promises";
import { workQueue } from "../../src/queue/index.js";

const [db, name, id] = process.argv.slice(2) as [string, string, string];
export const VISIBILITY_MS = 1000;

const store = await openStore({ path: db });
const queue = workQueue(store, name);
const say = (line: Record<string, unknown>) => process.stdout.write(`${JSON.stringify({ worker: id, ...line })}\n`);

for (;;) {
  const lease = await queue.lease({ owner: id, visibilityMs: VISIBILITY_MS });
  if (!lease) {
    if ((await queue.stats()).pending === 0) break;
    await sleep(50); // tasks of dead workers come back when their leases run out
    continue;
  }
  say({ leased: lease.seq, attempt: lease.attempt });
  await sleep(30 + Math.random() * 60); // the work; main.ts may SIGKILL or SIGSTOP this process here
  const n = lease.payload as number;
  try {
    await queue.complete(lease, { square: n * n }, { writes: [{ key: `${name}-results/sum`, op: op.increment(n) }] });
    say({ completed: lease.seq });
  } catch (err) {
    if (!isErrorCode(err, "FENCED")) throw err;
    say({ fenced: lease.seq, reason: err.details.reason });
  }
}
say({ exit: true });
await store.close();
