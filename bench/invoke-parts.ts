/**
 * Where a LangGraph `invoke` spends the saver's share, measured inside the graph rather than call by call: each saver
 * runs the benchmark's 3-node graph whole, with its `put` replaced by one that stores nothing, and with its
 * `putWrites` replaced likewise. What a method costs an invoke is the whole graph's time less the graph's time
 * without it — the method's own work and whatever it does to the rest of the invoke (LangGraph does not await
 * `putWrites`, so timing the calls themselves counts time spent running the next node). It answers one question of
 * issue 18: which of the saver's calls make a fenced invoke slower than SqliteSaver's.
 *
 * The six graphs (two savers × three variants, each on a fresh file) run in interleaved chunks in one process, a new
 * thread per invoke; the figure is the median over rounds. A stand-in `put` answers the config LangGraph builds its
 * next step from, so the graph runs the same steps (the writes of a graph without puts attach to checkpoints that
 * were never stored, which the fenced saver accepts as it does for writes that race their put).
 *
 * Usage: npx tsx bench/invoke-parts.ts [--invokes N] [--rounds N]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { RunnableConfig } from "@langchain/core/runnables";
import type { Checkpoint } from "@langchain/langgraph-checkpoint";
import { stats } from "./report.js";
import { chatGraph, openSaver, threadConfig, type OpenSaver, type SaverName } from "./savers.js";

const { values } = parseArgs({
  options: { invokes: { type: "string", default: "1500" }, rounds: { type: "string", default: "3" } },
});
const INVOKES = Number(values.invokes);
const ROUNDS = Number(values.rounds);
const CHUNK = 25;

const SAVERS: SaverName[] = ["FencedCheckpointSaver", "SqliteSaver"];
const VARIANTS = ["whole", "without put", "without putWrites"] as const;
type Variant = (typeof VARIANTS)[number];

/** `saver` as the variant runs it: the replaced method stores nothing and answers what LangGraph needs. */
function variant(open: OpenSaver, v: Variant): OpenSaver {
  const saver = open.saver;
  if (v === "without put") {
    saver.put = async (config: RunnableConfig, checkpoint: Checkpoint) => ({
      configurable: {
        thread_id: config.configurable?.thread_id,
        checkpoint_ns: config.configurable?.checkpoint_ns ?? "",
        checkpoint_id: checkpoint.id,
      },
    });
  } else if (v === "without putWrites") saver.putWrites = async () => undefined;
  return open;
}

const runs = SAVERS.flatMap((name) => VARIANTS.map((v) => ({ name, v, micros: [] as number[] })));
for (let round = 0; round < ROUNDS; round++) {
  const dir = mkdtempSync(join(tmpdir(), "invoke-parts-"));
  const opened: OpenSaver[] = [];
  try {
    for (const [k, r] of runs.entries())
      opened.push(variant(await openSaver(r.name, mkdtempSync(join(dir, `${k}-`))), r.v));
    const graphs = opened.map((o) => chatGraph(o.saver));
    const elapsed = graphs.map(() => 0);
    for (let from = 0, turn = 0; from < INVOKES; from += CHUNK, turn++) {
      for (let j = 0; j < graphs.length; j++) {
        const k = (j + turn) % graphs.length; // rotate who goes first
        const t0 = performance.now();
        for (let i = from; i < Math.min(INVOKES, from + CHUNK); i++) {
          const out = await graphs[k]!.invoke(
            { messages: [{ role: "user", content: "hello" }] },
            threadConfig(`parts-${round}-${i}`),
          );
          if (out.messages.length !== 4)
            throw new Error(`${runs[k]!.name} (${runs[k]!.v}): ${out.messages.length} messages`);
        }
        elapsed[k]! += performance.now() - t0;
      }
    }
    for (const [k, ms] of elapsed.entries()) runs[k]!.micros.push((ms * 1000) / INVOKES);
  } finally {
    for (const o of opened) await o.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Median µs per invoke, whole microseconds (the shares are differences of the printed figures). */
const us = (name: SaverName, v: Variant) =>
  Math.round(stats(runs.find((r) => r.name === name && r.v === v)!.micros).median);
console.log(`3-node invoke, ${INVOKES} invokes × ${ROUNDS} rounds, interleaved (medians, µs per invoke)`);
console.log(
  `${"saver".padEnd(22)} ${"whole".padStart(7)} ${"no put".padStart(7)} ${"no putWrites".padStart(12)}` +
    `  ${"puts' share".padStart(11)}  ${"putWrites' share".padStart(16)}`,
);
for (const name of SAVERS) {
  const [whole, noPut, noWrites] = VARIANTS.map((v) => us(name, v)) as [number, number, number];
  console.log(
    `${name.padEnd(22)} ${String(whole).padStart(7)} ${String(noPut).padStart(7)} ${String(noWrites).padStart(12)}  ` +
      `${String(whole - noPut).padStart(11)}  ${String(whole - noWrites).padStart(16)}`,
  );
}
