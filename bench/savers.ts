/**
 * The LangGraph checkpointers the benchmarks compare, each opened on a fresh file at the same durability (WAL,
 * synchronous=NORMAL: survives any process crash, not power loss), and the checkpoint payloads they store.
 */
import { join } from "node:path";
import type { RunnableConfig } from "@langchain/core/runnables";
import {
  MemorySaver,
  uuid6,
  type BaseCheckpointSaver,
  type Checkpoint,
  type CheckpointMetadata,
} from "@langchain/langgraph-checkpoint";
import { SqliteSaver } from "@langchain/langgraph-checkpoint-sqlite";
import { Annotation, END, START, StateGraph } from "@langchain/langgraph";
import { FencedCheckpointSaver } from "../src/langgraph/index.js";

export type SaverName = "FencedCheckpointSaver" | "SqliteSaver" | "MemorySaver";
export const SAVER_NAMES: readonly SaverName[] = ["FencedCheckpointSaver", "SqliteSaver", "MemorySaver"];

export interface OpenSaver {
  name: SaverName;
  saver: BaseCheckpointSaver;
  /** SQLite `PRAGMA synchronous` of the saver's connection (1 = NORMAL, 2 = FULL), or `null` in memory. Read it after
   * the first put: SqliteSaver switches to WAL (and so to better-sqlite3's WAL default, NORMAL) only then. */
  synchronous(): number | null;
  close(): Promise<void>;
}

export async function openSaver(name: SaverName, dir: string): Promise<OpenSaver> {
  switch (name) {
    case "FencedCheckpointSaver": {
      const saver = await FencedCheckpointSaver.open({ path: join(dir, "fenced.db"), durability: "normal" });
      const db = (saver.store.backend as { db?: { pragma(s: string, o: { simple: true }): unknown } }).db;
      return {
        name,
        saver,
        synchronous: () => (db ? Number(db.pragma("synchronous", { simple: true })) : null),
        close: () => saver.store.close(),
      };
    }
    case "SqliteSaver": {
      // SqliteSaver sets journal_mode=WAL and leaves synchronous at better-sqlite3's WAL default (NORMAL); the run
      // records the value it found, so a different build of better-sqlite3 cannot skew the comparison unseen.
      const saver = SqliteSaver.fromConnString(join(dir, "official.db"));
      const db = (saver as unknown as { db: { pragma(s: string, o: { simple: true }): unknown; close(): void } }).db;
      return {
        name,
        saver,
        synchronous: () => Number(db.pragma("synchronous", { simple: true })),
        close: async () => db.close(),
      };
    }
    case "MemorySaver":
      return { name, saver: new MemorySaver(), synchronous: () => null, close: async () => undefined };
  }
}

export interface CheckpointStep {
  checkpoint: Checkpoint;
  metadata: CheckpointMetadata;
  newVersions: Record<string, number>;
}

/**
 * Step `step` of a chat-like thread whose serialized checkpoint is about `bytes` long: `messages` grows to fill the
 * size and changes every step with `step`; `profile` is written once, at step 0, as LangGraph does with channels that
 * did not change (so savers that store only `newVersions` channels are not charged for it again).
 */
export function checkpointStep(step: number, bytes: number): CheckpointStep {
  const v = step + 1;
  const messageText = "the quick brown fox jumps over the lazy dog while the agents argue about shared state. ";
  const count = Math.max(1, Math.round((bytes - 400) / (messageText.length + 40)));
  const messages = Array.from({ length: count }, (_, i) => ({
    role: i % 2 ? "assistant" : "user",
    content: `${step}-${i} ${messageText}`,
  }));
  const profile = {
    name: "research-team",
    goals: ["collect sources", "summarise", "cite"],
    budget: { tokens: 100_000 },
  };
  const checkpoint: Checkpoint = {
    v: 4,
    id: uuid6(step),
    ts: new Date(1_700_000_000_000 + step).toISOString(),
    channel_values: step === 0 ? { messages, step, profile } : { messages, step },
    channel_versions: { messages: v, step: v, profile: 1 },
    versions_seen: { agent: { messages: v - 1, step: v - 1 } },
  };
  const newVersions: Record<string, number> =
    step === 0 ? { messages: v, step: v, profile: 1 } : { messages: v, step: v };
  return { checkpoint, metadata: { source: "loop", step, parents: {} }, newVersions };
}

/** The root-namespace config of a thread. */
export const threadConfig = (threadId: string): RunnableConfig => ({
  configurable: { thread_id: threadId, checkpoint_ns: "" },
});

/** Puts `steps` as a chain, each the child of the previous, starting from `parent`; returns each put's config. */
export async function putChain(
  saver: BaseCheckpointSaver,
  parent: RunnableConfig,
  steps: readonly CheckpointStep[],
): Promise<RunnableConfig[]> {
  let config = parent;
  const configs: RunnableConfig[] = [];
  for (const s of steps) {
    config = await saver.put(config, s.checkpoint, s.metadata, s.newVersions);
    configs.push(config);
  }
  return configs;
}

/** The state of the `invoke` benchmark's graph: messages appended by each node. */
const ChatState = Annotation.Root({
  messages: Annotation<{ role: string; content: string }[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
});

/**
 * A real 3-node StateGraph (draft → review → reply), each node appending one ~200-byte message, compiled on `saver`:
 * one `invoke` reads the thread's head, and puts a checkpoint and the node's writes per step, as an application does.
 */
export function chatGraph(saver: BaseCheckpointSaver) {
  const text = "x".repeat(200);
  const say = (role: string) => () => ({ messages: [{ role, content: `${role}: ${text}` }] });
  return new StateGraph(ChatState)
    .addNode("draft", say("draft"))
    .addNode("review", say("review"))
    .addNode("reply", say("reply"))
    .addEdge(START, "draft")
    .addEdge("draft", "review")
    .addEdge("review", "reply")
    .addEdge("reply", END)
    .compile({ checkpointer: saver });
}
