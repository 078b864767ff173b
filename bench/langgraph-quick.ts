/**
 * A quick side-by-side of FencedCheckpointSaver and the official SqliteSaver, in one run, on the same payload and
 * the same durability (SQLite file, WAL, synchronous=NORMAL for both). Prints ops/s and the ratio ours/official.
 * The full benchmark lives elsewhere; this one backs the figures in docs/readme/langgraph.md.
 *
 *   npx tsx bench/langgraph-quick.ts [puts=5000] [reads=5000]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RunnableConfig } from "@langchain/core/runnables";
import { uuid6, type BaseCheckpointSaver, type Checkpoint, type CheckpointMetadata } from "@langchain/langgraph-checkpoint";
import { SqliteSaver } from "@langchain/langgraph-checkpoint-sqlite";
import Database from "better-sqlite3";
import { FencedCheckpointSaver } from "../src/langgraph/index.js";

const PUTS = Number(process.argv[2] ?? 5000);
const READS = Number(process.argv[3] ?? 5000);
const LIST_LIMIT = 10;

/** One step of a chat-like thread: `messages` and `step` change every step, `profile` only at the first. */
function payload(step: number, prev: Checkpoint | undefined): { checkpoint: Checkpoint; metadata: CheckpointMetadata; newVersions: Record<string, number> } {
  const v = step + 1;
  const messages = Array.from({ length: 4 }, (_, i) => ({
    role: i % 2 ? "assistant" : "user",
    content: `message ${step}-${i}: the quick brown fox jumps over the lazy dog while the agents argue about state`,
  }));
  const profile = { name: "research-team", goals: ["collect sources", "summarise", "cite"], budget: { tokens: 100000 } };
  const checkpoint: Checkpoint = {
    v: 4,
    id: uuid6(step),
    ts: new Date(1_700_000_000_000 + step).toISOString(),
    channel_values: { messages, step, profile },
    channel_versions: { messages: v, step: v, profile: 1 },
    versions_seen: { agent: { messages: v - 1, step: v - 1 }, tools: { messages: v - 1 } },
  };
  const newVersions: Record<string, number> = prev ? { messages: v, step: v } : { messages: v, step: v, profile: 1 };
  return { checkpoint, metadata: { source: "loop", step, parents: {} }, newVersions };
}

interface Result {
  put: number;
  getTupleLatest: number;
  getTupleById: number;
  list: number;
}
type Op = keyof Result;

/**
 * Runs `ops` operations of each saver in alternating chunks (the machine is shared: whatever else runs, both savers
 * see it alike), and returns ops/s per saver.
 */
async function interleaved(ops: number, bodies: ((i: number) => Promise<unknown>)[], chunk = 50): Promise<number[]> {
  const elapsed = bodies.map(() => 0);
  for (let from = 0, round = 0; from < ops; from += chunk, round++) {
    const to = Math.min(ops, from + chunk);
    for (let k = 0; k < bodies.length; k++) {
      const b = (k + round) % bodies.length; // alternate who goes first
      const start = process.hrtime.bigint();
      for (let i = from; i < to; i++) await bodies[b]!(i);
      elapsed[b]! += Number(process.hrtime.bigint() - start) / 1e9;
    }
  }
  return elapsed.map((s) => ops / s);
}

async function measure(savers: BaseCheckpointSaver[]): Promise<Result[]> {
  const payloads: ReturnType<typeof payload>[] = [];
  for (let i = 0; i < PUTS; i++) payloads.push(payload(i, payloads[i - 1]?.checkpoint));
  const thread = "bench-thread";
  const configs: RunnableConfig[] = savers.map(() => ({ configurable: { thread_id: thread, checkpoint_ns: "" } }));
  const results: Result[] = savers.map(() => ({ put: 0, getTupleLatest: 0, getTupleById: 0, list: 0 }));
  const record = (op: Op, rates: number[]) => rates.forEach((r, k) => (results[k]![op] = r));

  record("put", await interleaved(PUTS, savers.map((saver, k) => async (i: number) => {
    const p = payloads[i]!;
    configs[k] = await saver.put(configs[k]!, p.checkpoint, p.metadata, p.newVersions);
  })));
  const latest: RunnableConfig = { configurable: { thread_id: thread, checkpoint_ns: "" } };
  record("getTupleLatest", await interleaved(READS, savers.map((saver) => () => saver.getTuple(latest))));
  const ids = payloads.map((p) => ({ configurable: { thread_id: thread, checkpoint_ns: "", checkpoint_id: p.checkpoint.id } }));
  record("getTupleById", await interleaved(READS, savers.map((saver) => (i: number) => saver.getTuple(ids[(i * 7919) % ids.length]!))));
  record("list", await interleaved(Math.max(1, Math.floor(READS / LIST_LIMIT)), savers.map((saver) => async () => {
    let n = 0;
    for await (const _ of saver.list(latest, { limit: LIST_LIMIT })) n++;
    if (n !== LIST_LIMIT) throw new Error(`list returned ${n}`);
  }), 10));
  for (const saver of savers) {
    const last = await saver.getTuple(latest);
    if (last?.checkpoint.id !== payloads[PUTS - 1]!.checkpoint.id) throw new Error("latest is not the last put");
  }
  return results;
}

const dir = mkdtempSync(join(tmpdir(), "fenced-bench-"));
try {
  const db = new Database(join(dir, "official.db"));
  const official = new SqliteSaver(db);
  const fenced = await FencedCheckpointSaver.open({ path: join(dir, "fenced.db") });
  const sync = [db, (fenced.store.backend as unknown as { db: Database.Database }).db].map((d) => d.pragma("synchronous", { simple: true }));
  console.log(`durability: both SQLite WAL, PRAGMA synchronous official=${sync[0]} fenced=${sync[1]} (1 = NORMAL)`);
  const [a, b] = await measure([official, fenced]);
  db.close();
  await fenced.store.close();
  console.log(
    `${PUTS} puts on one thread (~1.1 KB checkpoints, 2 of 3 channels new per step), ${READS} reads, list limit ${LIST_LIMIT};` +
      " both savers interleaved in chunks",
  );
  console.log("op                 SqliteSaver ops/s   FencedCheckpointSaver ops/s   ratio");
  for (const k of ["put", "getTupleLatest", "getTupleById", "list"] as const) {
    console.log(`${k.padEnd(18)} ${a![k].toFixed(0).padStart(17)}   ${b![k].toFixed(0).padStart(27)}   ${(b![k] / a![k]).toFixed(2)}x`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
