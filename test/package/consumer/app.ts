// A consumer of the core, the LangGraph saver and the server entry, after the README's LangGraph install line.
import { openStore, op, FencedStateError } from "fenced-state";
import { FencedCheckpointSaver, invokeWithRetry } from "fenced-state/langgraph";
import { createServer } from "fenced-state/server";
import { Annotation, END, START, StateGraph } from "@langchain/langgraph";

const store = await openStore({ path: "app/state.db" });
const State = Annotation.Root({ count: Annotation<number>() });
const graph = new StateGraph(State)
  .addNode("increment", async (s) => ({ count: (s.count ?? 0) + 1 }))
  .addEdge(START, "increment")
  .addEdge("increment", END)
  .compile({ checkpointer: new FencedCheckpointSaver(store) });
const thread = { configurable: { thread_id: "t1" } };
await Promise.all([invokeWithRetry(graph, {}, thread), invokeWithRetry(graph, {}, thread)]);
const count = (await graph.getState(thread)).values.count as number;

await store.commit({ key: "team/notes", op: op.append("hello") });
let code = "none";
try {
  await store.commit({ key: "team/notes", op: op.set([]), expectVersion: 0 });
} catch (err) {
  if (err instanceof FencedStateError) code = err.code;
}
const server = createServer(store, { port: 0 });
const url = await server.listen();
const read = (await (
  await fetch(`${url}/v1/read`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ key: "team/notes" }),
  })
).json()) as { value: unknown };
await server.close();
await store.close();
console.log(`app ok: count ${count}, stale commit ${code}, read over HTTP ${JSON.stringify(read.value)}`);
