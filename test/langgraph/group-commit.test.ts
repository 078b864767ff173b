/**
 * A running graph's puts and pending writes share SQLite group commits (docs/sqlite.md, "Group commit"): LangGraph
 * awaits neither before its next step, so the saver lets each wait for the end of the event-loop turn (`gather`),
 * where the step's next call joins it. A caller of its own (no LangGraph `control` in its config) is not held back:
 * its put and writes land without waiting for the turn to end.
 */
import { join } from "node:path";
import { Annotation, END, START, StateGraph } from "@langchain/langgraph";
import { emptyCheckpoint, uuid6 } from "@langchain/langgraph-checkpoint";
import { afterAll, describe, expect, it } from "vitest";
import { FencedCheckpointSaver } from "../../src/langgraph/index.js";
import { tempDir } from "../support/backends.js";

const tmp = tempDir();
afterAll(() => tmp.remove());

const Chat = Annotation.Root({ messages: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }) });

/** The 3-node graph of the benchmarks: 5 puts and 4 pending writes per invoke. */
function threeNodes(saver: FencedCheckpointSaver) {
  return new StateGraph(Chat)
    .addNode("draft", () => ({ messages: ["draft"] }))
    .addNode("review", () => ({ messages: ["review"] }))
    .addNode("reply", () => ({ messages: ["reply"] }))
    .addEdge(START, "draft")
    .addEdge("draft", "review")
    .addEdge("review", "reply")
    .addEdge("reply", END)
    .compile({ checkpointer: saver });
}

/** Counts the groups (COMMITs) the store's writer lands while `body` runs. */
async function groupsDuring(saver: FencedCheckpointSaver, body: () => Promise<void>): Promise<number> {
  let groups = 0;
  const unsubscribe = saver.store.backend.subscribe(() => groups++);
  try {
    await body();
  } finally {
    unsubscribe();
  }
  return groups;
}

describe("FencedCheckpointSaver on SQLite: group commits of a running graph", () => {
  it("an invoke's 5 puts and 4 pending writes land in fewer COMMITs than calls, and all of them land", async () => {
    const saver = await FencedCheckpointSaver.open({ path: join(tmp.dir, "graph.db") });
    const calls = { put: 0, putWrites: 0 };
    for (const m of ["put", "putWrites"] as const) {
      const original = saver[m].bind(saver) as (...args: unknown[]) => Promise<unknown>;
      (saver as unknown as Record<string, unknown>)[m] = (...args: unknown[]) => {
        calls[m]++;
        return original(...args);
      };
    }
    const graph = threeNodes(saver);
    const config = { configurable: { thread_id: "grouped" } };
    const groups = await groupsDuring(saver, async () => {
      expect((await graph.invoke({ messages: ["hello"] }, config)).messages).toEqual([
        "hello",
        "draft",
        "review",
        "reply",
      ]);
    });
    expect(calls).toEqual({ put: 5, putWrites: 4 });
    // Without gathering each call is a group of its own (9); with it, a step's writes and its next put share one.
    expect(groups).toBeLessThanOrEqual(6);
    // Nothing was dropped on the way: the head is the last put, its history all five, and the state is whole.
    const history = [];
    for await (const s of graph.getStateHistory(config)) history.push(s.values.messages.length);
    expect(history).toEqual([4, 3, 2, 1, 0]);
    await saver.store.close();
  });

  it("a put and pending writes of a caller of its own land without waiting for the event-loop turn to end", async () => {
    const saver = await FencedCheckpointSaver.open({ path: join(tmp.dir, "direct.db") });
    let turnEnded = false;
    setImmediate(() => (turnEnded = true));
    const checkpoint = { ...emptyCheckpoint(), id: uuid6(-1) };
    const config = await saver.put(
      { configurable: { thread_id: "direct", checkpoint_ns: "" } },
      checkpoint,
      { source: "input", step: -1, parents: {} },
      {},
    );
    await saver.putWrites(config, [["messages", "x"]], "task-1");
    expect(turnEnded).toBe(false);
    expect((await saver.getTuple(config))?.pendingWrites).toEqual([["task-1", "messages", "x"]]);
    await saver.store.close();
  });
});
