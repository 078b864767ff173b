/**
 * A quick side-by-side of FencedCheckpointSaver and the official SqliteSaver, in one run, on the same payload and
 * the same durability (SQLite file, WAL, synchronous=NORMAL for both). Prints ops/s and the ratio ours/official.
 * The full benchmark lives elsewhere; this one backs the figures in docs/langgraph.md.
 *
 *   npx tsx bench/langgraph-quick.ts            # ~1 KB checkpoints (5,000 puts), then ~100 KB (300 puts)
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RunnableConfig } from "@langchain/core/runnables";
import {
  uuid6,
  type BaseCheckpointSaver,
  type Checkpoint,
  type CheckpointMetadata,
} from "@langchain/langgraph-checkpoint";
import { SqliteSaver } from "@langchain/langgraph-checkpoint-sqlite";
import Database from "better-sqlite3";
import { FencedCheckpointSaver } from "../src/langgraph/index.js";

const LIST_LIMIT = 10;
const SIZES = [
  { label: "~1 KB", messageBytes: 100, ops: 5000 },
  { label: "~100 KB", messageBytes: 25_000, ops: 300 },
];

/**
 * One step of a chat-like thread: `messages` (4 messages of `messageBytes`) and `step` change every step, `profile`
 * only at the first; newVersions names the changed channels, as LangGraph does.
 */
function payload(
  step: number,
  messageBytes: number,
): { checkpoint: Checkpoint; metadata: CheckpointMetadata; newVersions: Record<string, number> } {
  const v = step + 1;
  const text = "the quick brown fox jumps over the lazy dog while the agents argue about state; ".repeat(
    Math.ceil(messageBytes / 80),
  );
  const messages = Array.from({ length: 4 }, (_, i) => ({
    role: i % 2 ? "assistant" : "user",
    content: `message ${step}-${i}: ${text.slice(0, messageBytes)}`,
  }));
  const profile = {
    name: "research-team",
    goals: ["collect sources", "summarise", "cite"],
    budget: { tokens: 100000 },
  };
  const checkpoint: Checkpoint = {
    v: 4,
    id: uuid6(step),
    ts: new Date(1_700_000_000_000 + step).toISOString(),
    channel_values: { messages, step, profile },
    channel_versions: { messages: v, step: v, profile: 1 },
    versions_seen: { agent: { messages: v - 1, step: v - 1 }, tools: { messages: v - 1 } },
  };
  const newVersions: Record<string, number> =
    step > 0 ? { messages: v, step: v } : { messages: v, step: v, profile: 1 };
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
 * Runs `ops` operations of each saver in alternating chunks. The machine is shared, so load comes in bursts: each
 * chunk of one saver is timed next to the same chunk of the other, and the figure is the median over chunks — a burst
 * that hits one chunk cannot decide the result. Returns each saver's median ops/s.
 */
async function interleaved(ops: number, bodies: ((i: number) => Promise<unknown>)[], chunk = 25): Promise<number[]> {
  const rates: number[][] = bodies.map(() => []);
  for (let from = 0, round = 0; from < ops; from += chunk, round++) {
    const to = Math.min(ops, from + chunk);
    for (let k = 0; k < bodies.length; k++) {
      const b = (k + round) % bodies.length; // alternate who goes first
      const start = process.hrtime.bigint();
      for (let i = from; i < to; i++) await bodies[b]!(i);
      rates[b]!.push((to - from) / (Number(process.hrtime.bigint() - start) / 1e9));
    }
  }
  return rates.map(median);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function measure(savers: BaseCheckpointSaver[], messageBytes: number, ops: number): Promise<Result[]> {
  const PUTS = ops;
  const READS = ops;
  const payloads = Array.from({ length: PUTS }, (_, i) => payload(i, messageBytes));
  const thread = "bench-thread";
  const configs: RunnableConfig[] = savers.map(() => ({ configurable: { thread_id: thread, checkpoint_ns: "" } }));
  const results: Result[] = savers.map(() => ({ put: 0, getTupleLatest: 0, getTupleById: 0, list: 0 }));
  const record = (op: Op, rates: number[]) =>
    rates.forEach((r, k) => {
      results[k]![op] = r;
    });

  record(
    "put",
    await interleaved(
      PUTS,
      savers.map((saver, k) => async (i: number) => {
        const p = payloads[i]!;
        configs[k] = await saver.put(configs[k]!, p.checkpoint, p.metadata, p.newVersions);
      }),
    ),
  );
  const latest: RunnableConfig = { configurable: { thread_id: thread, checkpoint_ns: "" } };
  record(
    "getTupleLatest",
    await interleaved(
      READS,
      savers.map((saver) => () => saver.getTuple(latest)),
    ),
  );
  const ids = payloads.map((p) => ({
    configurable: { thread_id: thread, checkpoint_ns: "", checkpoint_id: p.checkpoint.id },
  }));
  record(
    "getTupleById",
    await interleaved(
      READS,
      savers.map((saver) => (i: number) => saver.getTuple(ids[(i * 7919) % ids.length]!)),
    ),
  );
  record(
    "list",
    await interleaved(
      Math.max(1, Math.floor(READS / LIST_LIMIT)),
      savers.map((saver) => async () => {
        let n = 0;
        for await (const _ of saver.list(latest, { limit: LIST_LIMIT })) n++;
        if (n !== LIST_LIMIT) throw new Error(`list returned ${n}`);
      }),
      5,
    ),
  );
  for (const saver of savers) {
    const last = await saver.getTuple(latest);
    if (last?.checkpoint.id !== payloads[PUTS - 1]!.checkpoint.id) throw new Error("latest is not the last put");
  }
  return results;
}

const dir = mkdtempSync(join(tmpdir(), "fenced-bench-"));
try {
  for (const size of SIZES) {
    const db = new Database(join(dir, `official-${size.ops}.db`));
    const official = new SqliteSaver(db);
    const fenced = await FencedCheckpointSaver.open({ path: join(dir, `fenced-${size.ops}.db`) });
    const [a, b] = await measure([official, fenced], size.messageBytes, size.ops);
    // Read back after the run: SqliteSaver switches its connection to WAL on first use.
    const sync = [db, (fenced.store.backend as unknown as { db: Database.Database }).db].map((d) =>
      d.pragma("synchronous", { simple: true }),
    );
    db.close();
    await fenced.store.close();
    const bytes = JSON.stringify(payload(1, size.messageBytes).checkpoint).length;
    console.log(
      `\n${size.label} checkpoints (${bytes} bytes of JSON; messages and step change every step, profile once), ${size.ops} puts on one` +
        ` thread, ${size.ops} reads, list limit ${LIST_LIMIT}. SQLite WAL, synchronous official=${sync[0]} fenced=${sync[1]} (1 = NORMAL).` +
        " Savers interleaved in chunks of 25; median chunk rate.",
    );
    console.log("op                 SqliteSaver ops/s   FencedCheckpointSaver ops/s   ratio");
    for (const k of ["put", "getTupleLatest", "getTupleById", "list"] as const) {
      console.log(
        `${k.padEnd(18)} ${a![k].toFixed(0).padStart(17)}   ${b![k].toFixed(0).padStart(27)}   ${(b![k] / a![k]).toFixed(2)}x`,
      );
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
