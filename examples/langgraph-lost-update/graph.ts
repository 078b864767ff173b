/**
 * The graph every case runs: `count` is a plain LangGraph channel the node reads and writes count + 1, `log` appends
 * each run's label. Each completed run should add exactly 1 to `count`. No LLM: the node is the read-modify-write an
 * agent does when it updates shared state.
 */
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Annotation, END, START, StateGraph, type BaseCheckpointSaver } from "@langchain/langgraph";

export const State = Annotation.Root({
  count: Annotation<number>(),
  log: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
});

/** `hold(label)` may stall a run inside its node, to make it a zombie. */
export function counterGraph(checkpointer: BaseCheckpointSaver, hold?: (label: string) => Promise<void>) {
  return new StateGraph(State)
    .addNode("increment", async (s) => {
      await hold?.(s.log[s.log.length - 1] ?? "");
      return { count: (s.count ?? 0) + 1 };
    })
    .addEdge(START, "increment")
    .addEdge("increment", END)
    .compile({ checkpointer });
}

/**
 * Real races happen by chance; this makes them happen every time: each run's first read of the thread waits until
 * every run has read it, so they all start from the same state.
 */
export function startTogether<S extends BaseCheckpointSaver>(saver: S, allRead: () => Promise<void>): S {
  const getTuple = saver.getTuple.bind(saver);
  saver.getTuple = async (config) => {
    const tuple = await getTuple(config);
    if (!config.configurable?.checkpoint_id) await allRead();
    return tuple;
  };
  return saver;
}

/** A barrier for runs in this process. */
export function inProcess(parties: number): () => Promise<void> {
  let arrived = 0;
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return () => {
    if (++arrived >= parties) open();
    return opened;
  };
}

/** A barrier for runs in several processes: a file per arrival in `dir` (bounded wait). */
export function acrossProcesses(dir: string, label: string, parties: number): () => Promise<void> {
  let passed = false;
  return async () => {
    if (passed) return;
    writeFileSync(join(dir, label), "");
    for (const deadline = Date.now() + 20_000; readdirSync(dir).length < parties; ) {
      if (Date.now() > deadline) throw new Error("the other process never arrived");
      await new Promise((r) => setTimeout(r, 5));
    }
    passed = true;
  };
}

/** A promise a stalled node waits on, and its release. */
export function latch(): { promise: Promise<void>; release: () => void } {
  let release!: () => void;
  const promise = new Promise<void>((resolve) => (release = resolve));
  return { promise, release };
}
