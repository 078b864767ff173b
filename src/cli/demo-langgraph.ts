/**
 * The LangGraph part of `fenced demo`: two concurrent `invoke`s on one thread, each adding 1 to `count`, with the
 * official SqliteSaver and with FencedCheckpointSaver, both on SQLite files. Loaded only when the demo gets here, so
 * that parts 1 and 2 run without the LangGraph packages. A barrier makes both runs read the thread
 * before either writes, so the race happens on every run and the output is the same.
 */
import { Annotation, END, START, StateGraph, type BaseCheckpointSaver } from "@langchain/langgraph";
import { SqliteSaver } from "@langchain/langgraph-checkpoint-sqlite";
import { FencedStateError } from "../core/errors.js";
import type { StateStore } from "../core/store.js";
import { FencedCheckpointSaver, invokeWithRetry } from "../langgraph/index.js";

const State = Annotation.Root({
  count: Annotation<number>(),
  log: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
});

/** The read-modify-write an agent does on shared state: read `count`, write `count + 1`. */
function counterGraph(checkpointer: BaseCheckpointSaver) {
  return new StateGraph(State)
    .addNode("increment", async (s) => ({ count: (s.count ?? 0) + 1 }))
    .addEdge(START, "increment")
    .addEdge("increment", END)
    .compile({ checkpointer });
}

/** Each run's first read of the thread waits until both runs have read it. */
function bothReadFirst<S extends BaseCheckpointSaver>(saver: S): S {
  let arrived = 0;
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  const getTuple = saver.getTuple.bind(saver);
  saver.getTuple = async (config) => {
    const tuple = await getTuple(config);
    if (!config.configurable?.checkpoint_id && arrived < 2) {
      if (++arrived === 2) open();
      await opened;
    }
    return tuple;
  };
  return saver;
}

/**
 * Part 3. The official SqliteSaver gets a file of its own (its tables would clash with ours); both of ours share the
 * demo's store, on two threads.
 */
export async function langgraphLostUpdate(
  store: StateStore,
  officialPath: string,
  out: (line?: string) => void,
): Promise<{ officialCount: number; fencedCount: number }> {
  out();
  out("3. LangGraph: two concurrent invokes on one thread; each adds 1 to count, so count should be 2.");

  const official = SqliteSaver.fromConnString(officialPath);
  const graphA = counterGraph(bothReadFirst(official));
  const threadA = { configurable: { thread_id: "demo" } };
  let officialCount: number;
  try {
    await Promise.all([graphA.invoke({ log: ["A"] }, threadA), graphA.invoke({ log: ["B"] }, threadA)]);
    officialCount = (await graphA.getState(threadA)).values.count as number;
  } finally {
    official.db.close();
  }
  out(
    `   official SqliteSaver: count = ${officialCount}, both invokes "succeeded" — one update lost, no error raised.`,
  );

  const graphB = counterGraph(bothReadFirst(new FencedCheckpointSaver(store)));
  const threadB = { configurable: { thread_id: "demo-fenced" } };
  const results = await Promise.allSettled([
    graphB.invoke({ log: ["A"] }, threadB),
    graphB.invoke({ log: ["B"] }, threadB),
  ]);
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === "rejected")?.reason as unknown;
  const code =
    rejected instanceof FencedStateError
      ? `${rejected.name} (${rejected.code}, retryable: ${rejected.retryable})`
      : String(rejected);
  out(
    `   FencedCheckpointSaver: count = ${(await graphB.getState(threadB)).values.count as number}, the losing invoke raised ${code}.`,
  );

  const graphC = counterGraph(bothReadFirst(new FencedCheckpointSaver(store)));
  const threadC = { configurable: { thread_id: "demo-retry" } };
  await Promise.all([
    invokeWithRetry(graphC, { log: ["A"] }, threadC),
    invokeWithRetry(graphC, { log: ["B"] }, threadC),
  ]);
  const fencedCount = (await graphC.getState(threadC)).values.count as number;
  out(`   FencedCheckpointSaver + invokeWithRetry: the loser re-ran from the new head; count = ${fencedCount}.`);
  return { officialCount, fencedCount };
}
