/**
 * A script whose last step is `await store.close()` on a store whose WAL checkpoint thread is running (as any CLI
 * script or worker ends): prints `{"worker":true}` once the thread has checkpointed, then `{"closed":true}` after
 * close() resolved. A close that waits on something holding no event-loop handle ends the process with exit code 13
 * (an unsettled top-level await) and never prints the second line. argv: <dbPath>.
 */
import { SqliteBackend } from "../../../src/backend.js";
import { FIRST_CHECKPOINT_AFTER, type WalCheckpoints } from "../../../src/backends/sqlite/wal-checkpoints.js";
import { StateStore, op } from "../../../src/index.js";

const backend = new SqliteBackend({ path: process.argv[2]! });
const store = new StateStore(backend);
const { checkpoints } = (backend as unknown as { writer: { checkpoints: WalCheckpoints } }).writer;
for (let i = 0; !checkpoints.last; i++) {
  await store.commit({ key: `close-last/${i % 10}`, op: op.increment(1) });
  // Past the first threshold, let the timer that starts the thread fire.
  if (i > FIRST_CHECKPOINT_AFTER) await new Promise((resolve) => setTimeout(resolve, 5));
}
process.stdout.write(`${JSON.stringify({ worker: true })}\n`);
await store.close();
process.stdout.write(`${JSON.stringify({ closed: true })}\n`);
