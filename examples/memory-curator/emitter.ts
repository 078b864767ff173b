/**
 * A worker process of examples/memory-curator: it appends the memories it learned to the inbox, one event each,
 * idempotent by opId. Restarted after a crash, it appends them all again; the inbox keeps each opId once.
 *
 *   node --import tsx examples/memory-curator/emitter.ts <db> <worker-id> <count>
 */
import { openStore } from "../../src/index.js";
import { setTimeout as sleep } from "node:timers/promises";
import { MemoryInbox } from "../../src/curator/index.js";

const [db, id, count] = process.argv.slice(2) as [string, string, string];
const store = await openStore({ path: db });
const inbox = new MemoryInbox(store, "team");
for (let i = 0; i < Number(count); i++) {
  await inbox.emit(
    { namespace: ["memories", id], key: `fact-${i}`, value: { text: `${id} learned fact ${i}` } },
    { opId: `${id}/${i}` },
  );
  // Every worker also learns the team's shared facts: the same memory under another opId, which the curator dedupes.
  if (i % 4 === 0)
    await inbox.emit(
      { namespace: ["memories", "team"], key: `shared-${i}`, value: { text: `shared fact ${i}` } },
      { opId: `${id}/shared-${i}` },
    );
  process.stdout.write(`${JSON.stringify({ emitted: i })}\n`);
  await sleep(10);
}
await store.close();
