/**
 * Double-texting with `rollback` and `threadStatus`, without the LangGraph Platform: a second message takes the thread
 * from a run that is still working, that run is fenced and its checkpoints are deleted, and the thread is back where
 * it was before it. `threadStatus` says idle, busy (who, which run, since when) or interrupted. Offline, in memory
 * (docs/lifecycle.md).
 *   npx tsx examples/langgraph-rollback/main.ts
 */
import { Annotation, END, START, StateGraph } from "@langchain/langgraph";
import { FencedError } from "../../src/index.js";
import { FencedCheckpointSaver, invokeWithClaim } from "../../src/langgraph/index.js";

const checkpointer = FencedCheckpointSaver.fromConnString(":memory:");
const State = Annotation.Root({
  messages: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
});
let release = () => {};
const stalled = new Promise<void>((r) => (release = r));
let entered = () => {};
const thinking = new Promise<void>((r) => (entered = r));
const graph = new StateGraph(State)
  .addNode("reply", async (s) => {
    const last = s.messages.at(-1)!;
    if (last.startsWith("user: book")) entered(), await stalled; // a slow model call
    return { messages: [`bot: re "${last.slice(6)}"`] };
  })
  .addEdge(START, "reply")
  .addEdge("reply", END)
  .compile({ checkpointer });
const t = { configurable: { thread_id: "chat" } };

await invokeWithClaim(graph, { messages: ["user: hi"] }, t);
console.log(`status: ${JSON.stringify(await checkpointer.threadStatus("chat"))}`);
const first = invokeWithClaim(graph, { messages: ["user: book a flight to Oslo"] }, t, {
  owner: "worker-1",
  runId: "run-oslo",
}).catch((e: unknown) => e);
await thinking;
const busy = await checkpointer.threadStatus("chat");
console.log(`status: ${busy.status}, owner ${busy.status === "busy" ? `${busy.owner}, run ${busy.runId}` : "-"}`);
// The user changes their mind before the bot answers: roll the running run back.
await invokeWithClaim(graph, { messages: ["user: actually, Bergen"] }, t, { multitaskStrategy: "rollback" });
release();
const err = await first;
console.log(`the rolled-back run raised ${err instanceof FencedError ? `FencedError (${err.code})` : String(err)}`);
console.log(`messages: ${JSON.stringify((await graph.getState(t)).values.messages)}`);
console.log(`status: ${JSON.stringify(await checkpointer.threadStatus("chat"))}`);
await checkpointer.close();
