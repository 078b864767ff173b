/**
 * Retention without the LangGraph Platform: a thread TTL (`ttl: { idleMs, strategy }`) applied by `sweep()`, and an
 * item TTL on FencedStore (`sweepTtl()`, as Python's `sweep_ttl`). Idleness is judged when the sweep commits, so a
 * thread resumed meanwhile is kept; an interrupted thread pruned by `keep_latest` can still be answered. What the
 * sweeps removed is counted in the event log (and on the coordinator's /metrics). Offline, on a temporary SQLite
 * file, with the store's clock moved forward instead of waiting a day (docs/lifecycle.md).
 *   npx tsx examples/langgraph-retention/main.ts
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Annotation, Command, END, START, StateGraph, interrupt } from "@langchain/langgraph";
import { openStore } from "../../src/index.js";
import { FencedCheckpointSaver, FencedStore } from "../../src/langgraph/index.js";

const DAY = 24 * 3600 * 1000;
const dir = mkdtempSync(join(tmpdir(), "fenced-retention-"));
let now = Date.now();
const store = await openStore({ path: join(dir, "state.db"), clock: () => now });

const State = Annotation.Root({ count: Annotation<number>(), answer: Annotation<string>() });
const build = (checkpointer: FencedCheckpointSaver) =>
  new StateGraph(State)
    .addNode("bump", (s) => ({ count: (s.count ?? 0) + 1 }))
    .addNode("ask", () => ({ answer: interrupt<string, string>("approve?") }))
    .addEdge(START, "bump")
    .addEdge("bump", "ask")
    .addEdge("ask", END)
    .compile({ checkpointer });

// Threads idle for a week keep only their head: interrupts stay answerable.
const checkpointer = new FencedCheckpointSaver(store, { ttl: { idleMs: 7 * DAY, strategy: "keep_latest" } });
const graph = build(checkpointer);
for (const id of ["old", "fresh"]) await graph.invoke({ count: 0 }, { configurable: { thread_id: id } });
await graph.invoke(new Command({ resume: "no" }), { configurable: { thread_id: "old" } });
await graph.invoke({ count: 0 }, { configurable: { thread_id: "old" } }); // asks again
now += 8 * DAY;
await graph.invoke(new Command({ resume: "yes" }), { configurable: { thread_id: "fresh" } });
const swept = await checkpointer.sweep();
console.log(`sweep (keep_latest, idle > 7 days): ${swept.threads} thread(s), ${swept.checkpoints} checkpoints removed`);
console.log(`thread "old" is ${(await checkpointer.threadStatus("old")).status}; answering it a week later:`);
await graph.invoke(new Command({ resume: "late yes" }), { configurable: { thread_id: "old" } });
console.log(`  answer = ${(await graph.getState({ configurable: { thread_id: "old" } })).values.answer}`);

// Delete threads idle for 30 days.
const deleting = new FencedCheckpointSaver(store, { ttl: { idleMs: 30 * DAY, strategy: "delete" } });
now += 31 * DAY;
const deleted = await deleting.sweep();
console.log(`sweep (delete, idle > 30 days): ${deleted.threads} thread(s), ${deleted.checkpoints} checkpoints deleted`);

// FencedStore items expire 1 day after their last write.
const memory = new FencedStore(store, { ttl: { defaultMs: DAY } });
await memory.put(["users", "u1"], "profile", { name: "Ada" });
now += 2 * DAY;
await memory.put(["users", "u2"], "profile", { name: "Grace" });
console.log(
  `store: u1's profile ${(await memory.get(["users", "u1"], "profile")) === null ? "expired" : "still there"}; sweepTtl deleted ${await memory.sweepTtl()} item(s)`,
);

const counters = await store.list("fenced-lifecycle/swept/");
console.log(`event-log counters: ${counters.map((r) => `${r.key.split("/").pop()} = ${String(r.value)}`).join(", ")}`);

await store.close();
rmSync(dir, { recursive: true, force: true });
