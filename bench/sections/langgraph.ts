/**
 * LangGraph: FencedCheckpointSaver next to the official SqliteSaver and MemorySaver — put, putWrites, getTuple
 * (latest and by id), list — on the same checkpoints (~1 KB and ~100 KB), SQLite savers at the same durability (WAL,
 * synchronous=NORMAL), and a real 3-node StateGraph `invoke` on each. Each round opens fresh savers and runs every
 * operation in alternating chunks across them, so whatever else the machine does in a round falls on all three alike.
 * Targets (issues 9, 18): put, getTuple, list and invoke ≥ 1.0× SqliteSaver.
 */
import { openSync, readSync, closeSync, statSync } from "node:fs";
import { join } from "node:path";
import type { RunnableConfig } from "@langchain/core/runnables";
import type { PendingWrite } from "@langchain/langgraph-checkpoint";
import { figure, perSecond, type Figure, type Target } from "../report.js";
import {
  chatGraph,
  checkpointStep,
  openSaver,
  putChain,
  SAVER_NAMES,
  threadConfig,
  type OpenSaver,
  type SaverName,
} from "../savers.js";
import { bySize, type Section, type Size } from "../section.js";
import { putSqlAlone } from "../sql-alone.js";

const PAYLOADS = [
  { label: "~1 KB", bytes: 1024 },
  { label: "~100 KB", bytes: 100 * 1024 },
] as const;
const OPS = ["put", "putWrites", "getTuple latest", "getTuple by id", "list (limit 10)"] as const;
type Op = (typeof OPS)[number];
const CHUNK = 25;
const LIST_LIMIT = 10;

const sizes = (size: Size) =>
  bySize(size, {
    full: { ops: { "~1 KB": 2000, "~100 KB": 200 }, invokes: 500, rounds: 5 },
    quick: { ops: { "~1 KB": 500, "~100 KB": 50 }, invokes: 150, rounds: 3 },
    tiny: { ops: { "~1 KB": 20, "~100 KB": 4 }, invokes: 5, rounds: 1 },
  });

/** Runs `count` calls of each body in alternating chunks; returns each body's ops/s. */
async function interleaved(count: number, bodies: ((i: number) => Promise<unknown>)[]): Promise<number[]> {
  const elapsed = bodies.map(() => 0);
  for (let from = 0, turn = 0; from < count; from += CHUNK, turn++) {
    const to = Math.min(count, from + CHUNK);
    for (let k = 0; k < bodies.length; k++) {
      const b = (k + turn) % bodies.length; // rotate who goes first
      const t0 = performance.now();
      for (let i = from; i < to; i++) await bodies[b]!(i);
      elapsed[b]! += performance.now() - t0;
    }
  }
  return elapsed.map((ms) => perSecond(count, ms));
}

async function drain(gen: AsyncGenerator<unknown>): Promise<number> {
  let n = 0;
  for await (const _ of gen) n++;
  return n;
}

/**
 * One round at one payload size: fresh savers, every operation; ops/s per op per saver, and the rate of a put's SQL
 * alone (bench/sql-alone.ts), taken in the same interleaved loop as the puts.
 */
async function round(
  dirs: () => string,
  bytes: number,
  count: number,
): Promise<{ rates: Map<Op, Map<SaverName, number>>; putSqlAlone: number }> {
  const savers: OpenSaver[] = [];
  for (const name of SAVER_NAMES) savers.push(await openSaver(name, dirs()));
  const out = new Map<Op, Map<SaverName, number>>();
  const record = (o: Op, rates: number[]) => out.set(o, new Map(savers.map((s, k) => [s.name, rates[k]!])));
  const steps = Array.from({ length: count }, (_, i) => checkpointStep(i, bytes));
  const sqlAlone = await putSqlAlone(dirs(), steps);
  try {
    const thread = "bench-thread";
    const heads: RunnableConfig[] = savers.map(() => threadConfig(thread));
    const configs: RunnableConfig[][] = savers.map(() => []);
    const putRates = await interleaved(count, [
      ...savers.map((s, k) => async (i: number) => {
        const [config] = await putChain(s.saver, heads[k]!, [steps[i]!]);
        heads[k] = config!;
        configs[k]!.push(config!);
      }),
      async (i: number) => sqlAlone.write(i),
    ]);
    record("put", putRates);
    // A node's writes to the checkpoint it ran from: the changed messages and the step, as LangGraph records them.
    const writes = steps.map((s): PendingWrite[] => [
      ["messages", s.checkpoint.channel_values.messages],
      ["step", s.checkpoint.channel_values.step],
    ]);
    record(
      "putWrites",
      await interleaved(
        count,
        savers.map((s, k) => (i: number) => s.saver.putWrites(configs[k]![i]!, writes[i]!, `task-${i}`)),
      ),
    );
    const latest = threadConfig(thread);
    record(
      "getTuple latest",
      await interleaved(
        count,
        savers.map((s) => () => s.saver.getTuple(latest)),
      ),
    );
    const order = Array.from({ length: count }, () => Math.floor(Math.random() * count));
    record(
      "getTuple by id",
      await interleaved(
        count,
        savers.map((s, k) => (i: number) => s.saver.getTuple(configs[k]![order[i]!]!)),
      ),
    );
    record(
      "list (limit 10)",
      await interleaved(
        count,
        savers.map((s) => async () => {
          if ((await drain(s.saver.list(latest, { limit: LIST_LIMIT }))) !== Math.min(LIST_LIMIT, count)) {
            throw new Error(`${s.name}.list returned the wrong number of checkpoints`);
          }
        }),
      ),
    );
    return { rates: out, putSqlAlone: putRates[savers.length]! };
  } finally {
    for (const s of savers) await s.close();
    await sqlAlone.close();
  }
}

/**
 * WAL frames (database pages) each SQLite saver writes per put of ~`bytes`: the physical work of a put's transaction,
 * whatever runs around it. Fresh savers, one put, then `puts` more as a chain; the WAL's growth over them, in frames
 * of its own page size. Few enough puts that neither saver checkpoints in between (the fenced store starts at 1,000
 * transactions, SqliteSaver at 1,000 pages), so the WAL only grows.
 */
async function walFramesPerPut(dirs: () => string, bytes: number): Promise<Map<SaverName, number>> {
  const puts = bytes > 10_000 ? 20 : 200;
  const steps = Array.from({ length: puts + 1 }, (_, i) => checkpointStep(i, bytes));
  const out = new Map<SaverName, number>();
  for (const [name, file] of [
    ["FencedCheckpointSaver", "fenced.db-wal"],
    ["SqliteSaver", "official.db-wal"],
  ] as const) {
    const dir = dirs();
    const s = await openSaver(name, dir);
    try {
      const [first] = await putChain(s.saver, threadConfig("frames"), steps.slice(0, 1));
      const wal = join(dir, file);
      const before = statSync(wal).size;
      await putChain(s.saver, first!, steps.slice(1));
      out.set(name, (statSync(wal).size - before) / (walPageSize(wal) + 24) / puts);
    } finally {
      await s.close();
    }
  }
  return out;
}

/** The page size a WAL file's header records (bytes 8–11, big-endian). */
function walPageSize(wal: string): number {
  const fd = openSync(wal, "r");
  try {
    const header = Buffer.alloc(12);
    readSync(fd, header, 0, 12, 0);
    return header.readUInt32BE(8);
  } finally {
    closeSync(fd);
  }
}

/** One round of `invoke`: fresh savers, the same 3-node graph on each, a new thread per invoke; invokes/s per saver. */
async function invokeRound(dirs: () => string, count: number): Promise<Map<SaverName, number>> {
  const savers: OpenSaver[] = [];
  for (const name of SAVER_NAMES) savers.push(await openSaver(name, dirs()));
  try {
    const graphs = savers.map((s) => chatGraph(s.saver));
    const rates = await interleaved(
      count,
      graphs.map((graph, k) => async (i: number) => {
        const out = await graph.invoke({ messages: [{ role: "user", content: "hello" }] }, threadConfig(`invoke-${i}`));
        if (out.messages.length !== 4)
          throw new Error(`${savers[k]!.name}: invoke returned ${out.messages.length} messages`);
      }),
    );
    return new Map(savers.map((s, k) => [s.name, rates[k]!]));
  } finally {
    for (const s of savers) await s.close();
  }
}

export const langgraphSection: Section = {
  name: "langgraph",
  title: "LangGraph: FencedCheckpointSaver vs the official SqliteSaver and MemorySaver",
  steps: (size) => (PAYLOADS.length + 1) * sizes(size).rounds,
  async run(ctx) {
    const { ops, invokes, rounds } = sizes(ctx.size);
    const figures: Figure[] = [];
    const targets: Target[] = [];
    const synchronous = new Map<SaverName, number | null>();
    const framesNotes: string[] = [];
    for (const name of SAVER_NAMES) {
      const s = await openSaver(name, ctx.tempDir());
      await putChain(s.saver, threadConfig("durability-probe"), [checkpointStep(0, 100)]);
      synchronous.set(name, s.synchronous());
      await s.close();
    }
    for (const payload of PAYLOADS) {
      const count = ops[payload.label];
      const rates = new Map<Op, Map<SaverName, number[]>>(
        OPS.map((o) => [o, new Map(SAVER_NAMES.map((n) => [n, []]))]),
      );
      const putSqlAloneRates: number[] = [];
      const frames = await walFramesPerPut(() => ctx.tempDir(), payload.bytes);
      framesNotes.push(
        `${payload.label}: FencedCheckpointSaver ${frames.get("FencedCheckpointSaver")!.toFixed(1)}, SqliteSaver ${frames.get("SqliteSaver")!.toFixed(1)}`,
      );
      for (let r = 0; r < rounds; r++) {
        ctx.progress.status(`langgraph: ${payload.label}, round ${r + 1}/${rounds}`);
        const result = await round(() => ctx.tempDir(), payload.bytes, count);
        for (const [o, bySaver] of result.rates) for (const [n, rate] of bySaver) rates.get(o)!.get(n)!.push(rate);
        putSqlAloneRates.push(result.putSqlAlone);
        ctx.progress.step(`langgraph: ${payload.label}, round ${r + 1}/${rounds}`);
      }
      const ceiling = figure(
        `put's SQL alone (its ceiling), ${payload.label}`,
        "ops/s",
        { name: "the same statements, no JavaScript", rounds: putSqlAloneRates },
        { name: "SqliteSaver", rounds: rates.get("put")!.get("SqliteSaver")! },
        { details: { ops: count } },
      );
      for (const o of OPS) {
        const fenced = { name: "FencedCheckpointSaver", rounds: rates.get(o)!.get("FencedCheckpointSaver")! };
        for (const peer of ["SqliteSaver", "MemorySaver"] as const) {
          const f = figure(
            `${o}, ${payload.label}`,
            "ops/s",
            fenced,
            { name: peer, rounds: rates.get(o)!.get(peer)! },
            { details: { ops: count } },
          );
          figures.push(f);
          if (o === "put" && peer === "SqliteSaver") figures.push(ceiling);
          if (peer === "SqliteSaver" && o !== "putWrites") {
            targets.push({
              kind: "speed",
              text: `${o}, ${payload.label}: ≥ 1.0× SqliteSaver`,
              measured:
                `${f.ratio!.median.toFixed(2)}×` +
                (o === "put"
                  ? ` (its SQL alone: ${ceiling.ratio!.median.toFixed(2)}×; WAL frames per put: ${frames.get("FencedCheckpointSaver")!.toFixed(1)} vs ${frames.get("SqliteSaver")!.toFixed(1)})`
                  : ""),
              met: f.ratio!.median >= 1.0,
            });
          }
        }
      }
    }
    const invoked = new Map<SaverName, number[]>(SAVER_NAMES.map((n) => [n, []]));
    for (let r = 0; r < rounds; r++) {
      ctx.progress.status(`langgraph: invoke, round ${r + 1}/${rounds}`);
      for (const [n, rate] of await invokeRound(() => ctx.tempDir(), invokes)) invoked.get(n)!.push(rate);
      ctx.progress.step(`langgraph: invoke, round ${r + 1}/${rounds}`);
    }
    for (const peer of ["SqliteSaver", "MemorySaver"] as const) {
      const f = figure(
        "invoke, 3-node StateGraph, ~200 B messages",
        "invokes/s",
        { name: "FencedCheckpointSaver", rounds: invoked.get("FencedCheckpointSaver")! },
        { name: peer, rounds: invoked.get(peer)! },
        { details: { ops: invokes } },
      );
      figures.push(f);
      if (peer === "SqliteSaver") {
        targets.push({
          kind: "speed",
          text: "invoke: ≥ 1.0× SqliteSaver",
          measured: `${f.ratio!.median.toFixed(2)}×`,
          met: f.ratio!.median >= 1.0,
        });
      }
    }
    return {
      figures,
      targets,
      notes: [
        `Durability: both SQLite savers on their own file in WAL mode; PRAGMA synchronous read back from each connection: FencedCheckpointSaver ${synchronous.get("FencedCheckpointSaver")}, SqliteSaver ${synchronous.get("SqliteSaver")} (1 = NORMAL). MemorySaver keeps nothing on disk.`,
        "Checkpoints: one thread, each put the child of the previous (as a running graph puts them); `messages` changes every step and fills the size, `profile` is written once (newVersions holds only the changed channels).",
        "putWrites: the node's writes (`messages`, `step`) to each checkpoint; getTuple by id: random earlier checkpoints; list: newest 10 of the thread.",
        "invoke: a StateGraph draft → review → reply, each node appending a ~200-byte message, compiled on each saver; every invoke starts a new thread (a head read, then a checkpoint and the node's writes per step: 4 puts, 3 putWrites).",
        "FencedCheckpointSaver also commits the thread's head with expectVersion (G7) and its event-log row in the same transaction as every put; the official savers check nothing.",
        `WAL frames (pages written) per put, measured on fresh savers before either checkpoints: ${framesNotes.join("; ")}. A put's transaction writes the head record's page, the event log's tail, the checkpoint row's page and its index's page (and, as rows fill pages, their parents); SqliteSaver's INSERT writes its row's page and its primary key's.`,
        "A put's SQL alone (bench/sql-alone.ts), in the same interleaved loop as the puts: BEGIN IMMEDIATE, the head's state, the head record, its event row, the checkpoint row, COMMIT — the statements a put runs, through the backend's own transaction object, each checkpoint serialized before the loop, nothing else. Its ratio to SqliteSaver's whole put is the most a put could reach with this layout (head record + event + checkpoint row in one transaction).",
      ],
    };
  },
};
