/**
 * A curator process of examples/memory-curator: claims the inbox, curates batch after batch into the FencedStore,
 * and exits when the inbox is closed and drained — or when it finds itself FENCED because another curator took over.
 *
 *   node --import tsx examples/memory-curator/curator.ts <db> <curator-id>
 */
import { isErrorCode, openStore } from "../../src/index.js";
import { setTimeout as sleep } from "node:timers/promises";
import { MemoryCurator } from "../../src/curator/index.js";
import { FencedStore } from "../../src/langgraph/index.js";

const [db, id] = process.argv.slice(2) as [string, string];
export const LEASE_MS = 1000;
const say = (line: Record<string, unknown>) => process.stdout.write(`${JSON.stringify({ curator: id, ...line })}\n`);

const state = await openStore({ path: db });
let batchStarted = false;
const curator = new MemoryCurator(state, new FencedStore(state), "team", {
  owner: id,
  leaseMs: LEASE_MS,
  batchSize: 10,
  validate: async (event, seq) => {
    if (!batchStarted) say({ batch: seq });
    batchStarted = true;
    await sleep(15); // a model checks the memory; main.ts may SIGKILL or SIGSTOP this process here
    return typeof event.value.text === "string" ? null : "a memory needs a text";
  },
});
for (;;) {
  try {
    await curator.start();
    break;
  } catch (err) {
    if (!isErrorCode(err, "CLAIM_HELD")) throw err;
    await sleep(100); // one curator at a time: wait for the holder's lease to end
  }
}
say({ claimed: true });
try {
  for (;;) {
    batchStarted = false;
    const report = await curator.step();
    if (report) say({ curated: report });
    else if (
      (await state.read("curator-example/closed")).exists &&
      (await curator.inbox.cursor()) === (await curator.inbox.lastSeq())
    )
      break;
    else await sleep(50);
  }
  await curator.stop();
  say({ exit: true });
} catch (err) {
  if (!isErrorCode(err, "FENCED")) throw err;
  say({ fenced: true, reason: err.details.reason });
}
await state.close();
