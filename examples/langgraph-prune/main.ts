/**
 * Thread lifecycle on FencedCheckpointSaver: prune a thread while a run is still running on it, copy a thread, and
 * delete one run's checkpoints. Each is a commit on the thread's head, fenced like a put: the running run finishes on
 * the pruned thread, nothing it needs is gone. Runs offline on a temporary SQLite file (docs/lifecycle.md).
 *   npx tsx examples/langgraph-prune/main.ts
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Annotation, END, START, StateGraph } from "@langchain/langgraph";
import { FencedCheckpointSaver, invokeWithClaim } from "../../src/langgraph/index.js";

const dir = mkdtempSync(join(tmpdir(), "fenced-prune-"));
const checkpointer = await FencedCheckpointSaver.open({ path: join(dir, "state.db") });

const State = Annotation.Root({
  count: Annotation<number>(),
  log: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
});
let release = () => {};
const stalled = new Promise<void>((r) => (release = r));
let entered = () => {};
const running = new Promise<void>((r) => (entered = r));
const graph = new StateGraph(State)
  .addNode("step", async (s) => {
    if (s.log.at(-1) === "slow") entered(), await stalled; // a long tool call
    return { count: (s.count ?? 0) + 1 };
  })
  .addEdge(START, "step")
  .addEdge("step", END)
  .compile({ checkpointer });

const t = { configurable: { thread_id: "t" } };
const historyOf = async (config: typeof t) => {
  let n = 0;
  for await (const _ of graph.getStateHistory(config)) n++;
  return n;
};

for (const label of ["a", "b", "c"]) await graph.invoke({ log: [label] }, t);
console.log(`thread t: count = ${(await graph.getState(t)).values.count}, ${await historyOf(t)} checkpoints`);

// 1. prune (keep_latest) while a run is in the middle of its node.
const slow = graph.invoke({ log: ["slow"] }, t);
await running;
const pruned = await checkpointer.prune(["t"]);
release();
await slow;
const after = await graph.getState(t);
console.log(
  `prune while a run was running: deleted ${pruned.checkpoints} checkpoints; the run finished: count = ${after.values.count}, log [${after.values.log.join(", ")}]`,
);

// 2. copyThread: the copy runs on apart from its source.
await checkpointer.copyThread("t", "t-copy");
await graph.invoke({ log: ["copy only"] }, { configurable: { thread_id: "t-copy" } });
const copy = (await graph.getState({ configurable: { thread_id: "t-copy" } })).values;
console.log(`copyThread: t-copy count = ${copy.count} (t stays at ${(await graph.getState(t)).values.count})`);

// 3. deleteForRuns: a claimed run's checkpoints carry its run id; deleting them puts the head back before it.
await invokeWithClaim(graph, { log: ["mistake"] }, t, { runId: "run-mistake" });
const removed = await checkpointer.deleteForRuns(["run-mistake"]);
const back = (await graph.getState(t)).values;
console.log(
  `deleteForRuns: removed ${removed.checkpoints} checkpoints of run-mistake; t is back at count = ${back.count}, log [${back.log.join(", ")}]`,
);

await checkpointer.close();
rmSync(dir, { recursive: true, force: true });
