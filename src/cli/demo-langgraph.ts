/**
 * The LangGraph part of `fenced demo`: two concurrent `invoke`s on one thread, each adding 1 to `count`, with the
 * official SqliteSaver and with FencedCheckpointSaver, both on SQLite files. A barrier makes both runs read the thread
 * before either writes, so the race happens on every run and the output is the same.
 */
import { rmSync } from "node:fs";
import { Annotation, END, START, StateGraph, type BaseCheckpointSaver } from "@langchain/langgraph";
import { SqliteSaver } from "@langchain/langgraph-checkpoint-sqlite";
import { FencedStateError } from "../core/errors.js";
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

const thread = { configurable: { thread_id: "demo" } };
const fresh = (path: string) => ["", "-wal", "-shm"].forEach((s) => rmSync(`${path}${s}`, { force: true }));

export async function langgraphLostUpdate(dir: string, out: (line?: string) => void): Promise<{ officialCount: number; fencedCount: number }> {
  out();
  out("3. LangGraph: two concurrent invokes on one thread; each adds 1 to count, so count should be 2.");

  fresh(`${dir}/langgraph-official.db`);
  const official = SqliteSaver.fromConnString(`${dir}/langgraph-official.db`);
  const graphA = counterGraph(bothReadFirst(official));
  await Promise.all([graphA.invoke({ log: ["A"] }, thread), graphA.invoke({ log: ["B"] }, thread)]);
  const officialCount = (await graphA.getState(thread)).values.count as number;
  out(`   official SqliteSaver: count = ${officialCount}, both invokes "succeeded" — one update lost, no error raised.`);

  fresh(`${dir}/langgraph-fenced.db`);
  const ours = await FencedCheckpointSaver.open({ path: `${dir}/langgraph-fenced.db` });
  const graphB = counterGraph(bothReadFirst(ours));
  const results = await Promise.allSettled([graphB.invoke({ log: ["A"] }, thread), graphB.invoke({ log: ["B"] }, thread)]);
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === "rejected")?.reason as unknown;
  const code = rejected instanceof FencedStateError ? `${rejected.name} (${rejected.code}, retryable: ${rejected.retryable})` : String(rejected);
  out(`   FencedCheckpointSaver: count = ${(await graphB.getState(thread)).values.count as number}, the losing invoke raised ${code}.`);
  await ours.store.close();

  fresh(`${dir}/langgraph-retry.db`);
  const retried = await FencedCheckpointSaver.open({ path: `${dir}/langgraph-retry.db` });
  const graphC = counterGraph(bothReadFirst(retried));
  await Promise.all([invokeWithRetry(graphC, { log: ["A"] }, thread), invokeWithRetry(graphC, { log: ["B"] }, thread)]);
  const fencedCount = (await graphC.getState(thread)).values.count as number;
  out(`   FencedCheckpointSaver + invokeWithRetry: the loser re-ran from the new head; count = ${fencedCount}.`);
  await retried.store.close();
  return { officialCount, fencedCount };
}
