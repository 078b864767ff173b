/**
 * How LangGraph loses updates with its official savers, and what FencedCheckpointSaver does instead — four cases, the
 * same graph each time, no LLM and no API key:
 *   (a) two concurrent invokes on one thread       (c) a zombie run that finishes late
 *   (b) two OS processes on one SQLite file        (d) two parallel branches writing one field
 *
 *   npx tsx examples/langgraph-lost-update/main.ts
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Annotation, END, MemorySaver, START, StateGraph } from "@langchain/langgraph";
import { SqliteSaver } from "@langchain/langgraph-checkpoint-sqlite";
import { FencedStateError } from "../../src/index.js";
import {
  FencedCheckpointSaver,
  edit,
  fencedMapAnnotation,
  invokeWithClaim,
  invokeWithRetry,
  valuesOf,
} from "../../src/langgraph/index.js";
import { counterGraph, inProcess, latch, startTogether } from "./graph.js";

const dir = mkdtempSync(join(tmpdir(), "fenced-lost-update-"));
let files = 0;
/** A fresh FencedCheckpointSaver on its own SQLite file (the default backend). */
const fenced = () => FencedCheckpointSaver.open({ path: join(dir, `fenced-${++files}.db`) });
const thread = { configurable: { thread_id: "t" } };
const line = (who: string, what: string) => console.log(`  ${who.padEnd(40)} ${what}`);
const caught = (err: unknown) => (err instanceof FencedStateError ? `${err.name} (${err.code})` : String(err));

console.log("(a) two concurrent invokes on one thread; each adds 1 to count, so count should be 2");
{
  const official = counterGraph(startTogether(new MemorySaver(), inProcess(2)));
  await Promise.all([official.invoke({ log: ["A"] }, thread), official.invoke({ log: ["B"] }, thread)]);
  line("MemorySaver", `count = ${(await official.getState(thread)).values.count}, no error: one update LOST`);

  const graph = counterGraph(startTogether(await fenced(), inProcess(2)));
  const results = await Promise.allSettled([
    graph.invoke({ log: ["A"] }, thread),
    graph.invoke({ log: ["B"] }, thread),
  ]);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  line(
    "FencedCheckpointSaver",
    `count = ${(await graph.getState(thread)).values.count}, the other invoke raised ${caught(failed?.reason)}`,
  );

  const retried = counterGraph(startTogether(await fenced(), inProcess(2)));
  await Promise.all([
    invokeWithRetry(retried, { log: ["A"] }, thread),
    invokeWithRetry(retried, { log: ["B"] }, thread),
  ]);
  line(
    "FencedCheckpointSaver + invokeWithRetry",
    `count = ${(await retried.getState(thread)).values.count}: both counted`,
  );
}

console.log("\n(b) two OS processes, one invoke each, on one SQLite file; count should be 2");
{
  const runTwo = async (kind: string) => {
    const db = join(dir, `${kind}.db`);
    const barrier = join(dir, `barrier-${kind}`);
    mkdirSync(barrier);
    const one = (label: string) =>
      new Promise<string>((resolve, reject) => {
        const child = spawn(
          process.execPath,
          ["--import", "tsx", join(import.meta.dirname, "process.ts"), kind, db, barrier, label],
          {
            stdio: ["ignore", "pipe", "inherit"],
          },
        );
        let out = "";
        child.stdout.on("data", (d: Buffer) => (out += d));
        child.on("close", (code) =>
          code === 0 ? resolve(out.trim()) : reject(new Error(`${label} exited with ${code}`)),
        );
      });
    const reports = (await Promise.all([one("P1"), one("P2")])).sort();
    return { db, reports };
  };
  const [official, ours, retried] = await Promise.all([runTwo("official"), runTwo("fenced"), runTwo("fenced-retry")]);
  const count = async (saver: SqliteSaver | FencedCheckpointSaver) =>
    (await saver.getTuple({ configurable: { thread_id: "shared" } }))?.checkpoint.channel_values.count;
  line(
    "SqliteSaver",
    `count = ${await count(SqliteSaver.fromConnString(official.db))}, processes said [${official.reports.join(", ")}]: one update LOST`,
  );
  const oursSaver = await FencedCheckpointSaver.open({ path: ours.db });
  line("FencedCheckpointSaver", `count = ${await count(oursSaver)}, processes said [${ours.reports.join(", ")}]`);
  const retriedSaver = await FencedCheckpointSaver.open({ path: retried.db });
  line(
    "FencedCheckpointSaver + invokeWithRetry",
    `count = ${await count(retriedSaver)}, processes said [${retried.reports.join(", ")}]`,
  );
  await Promise.all([oursSaver.store.close(), retriedSaver.store.close()]);
}

console.log("\n(c) a zombie run stalls in its node; a fresh run completes; then the zombie wakes and finishes");
{
  const scenario = async (saver: MemorySaver | FencedCheckpointSaver, zombie: "invoke" | "retry" | "claims") => {
    const stalled = latch();
    const entered = latch();
    const graph = counterGraph(saver, async (label) => {
      if (label !== "zombie") return;
      entered.release();
      await stalled.promise;
    });
    await graph.invoke({ log: ["first"] }, thread);
    const z =
      zombie === "retry"
        ? invokeWithRetry(graph, { log: ["zombie"] }, thread)
        : zombie === "claims"
          ? invokeWithClaim(graph, { log: ["zombie"] }, thread)
          : graph.invoke({ log: ["zombie"] }, thread);
    const outcome = z.then(() => "finished", caught);
    await entered.promise;
    // The zombie's checkpoints up to its node (its input, then the step that runs the node) are put in the background
    // (LangGraph's default durability, "async"), so they may land after the node has started; the fresh run starts once
    // both have (with invokeWithRetry's durability "exit", none lands before the run ends).
    for (;;) {
      if (zombie === "retry") break;
      const head = await graph.getState(thread);
      if (head.values.log.includes("zombie") && head.next.includes("increment")) break;
      await new Promise((r) => setTimeout(r, 1));
    }
    if (zombie === "claims")
      await invokeWithClaim(graph, { log: ["fresh"] }, thread, { multitaskStrategy: "interrupt" });
    else await graph.invoke({ log: ["fresh"] }, thread);
    const step = (await graph.getState(thread)).metadata?.step;
    stalled.release();
    const result = await outcome;
    const final = await graph.getState(thread);
    return {
      zombie: result,
      step,
      final: final.metadata?.step,
      log: final.values.log.join(", "),
      count: final.values.count,
    };
  };
  const official = await scenario(new MemorySaver(), "invoke");
  line(
    "MemorySaver",
    `zombie ${official.zombie}; step went ${official.step} -> ${official.final}, log [${official.log}]: the fresh run is LOST`,
  );
  const ours = await scenario(await fenced(), "invoke");
  line("FencedCheckpointSaver", `zombie raised ${ours.zombie}; step stays ${ours.final}, log [${ours.log}]`);
  const retried = await scenario(await fenced(), "retry");
  line(
    "FencedCheckpointSaver + invokeWithRetry",
    `zombie re-ran from the new head and ${retried.zombie}; count = ${retried.count}, log [${retried.log}]`,
  );
  const claims = await scenario(await fenced(), "claims");
  line(
    "FencedCheckpointSaver + run claims",
    `fresh run interrupted the zombie, which raised ${claims.zombie}; log [${claims.log}]`,
  );
}

console.log("\n(d) two parallel branches set the same field in one step");
{
  const Plain = Annotation.Root({
    doc: Annotation<Record<string, string>>({ reducer: (a, b) => ({ ...a, ...b }), default: () => ({}) }),
  });
  const plain = new StateGraph(Plain)
    .addNode("left", () => ({ doc: { verdict: "approve" } }))
    .addNode("right", () => ({ doc: { verdict: "reject" } }))
    .addEdge(START, "left")
    .addEdge(START, "right")
    .addEdge("left", END)
    .addEdge("right", END)
    .compile({ checkpointer: new MemorySaver() });
  line(
    "merge reducer (any saver)",
    `verdict = ${JSON.stringify((await plain.invoke({}, thread)).doc.verdict)}, no error: the other branch's verdict is LOST`,
  );

  const fencedGraph = (merge?: (a: unknown, b: unknown) => string) =>
    new StateGraph(
      Annotation.Root({ doc: fencedMapAnnotation<{ verdict: string }>(merge ? { merge: { verdict: merge } } : {}) }),
    )
      .addNode("left", (s) => ({ doc: edit(s.doc).set("verdict", "approve") }))
      .addNode("right", (s) => ({ doc: edit(s.doc).set("verdict", "reject") }))
      .addEdge(START, "left")
      .addEdge(START, "right")
      .addEdge("left", END)
      .addEdge("right", END)
      .compile({ checkpointer: new MemorySaver() });
  const err = await fencedGraph()
    .invoke({}, thread)
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  // Task ids differ run to run; the node names do not.
  const message =
    err instanceof Error ? `${caught(err)}: ${err.message.replace(/:[0-9a-f-]{36}/g, "")}` : "no error: LOST";
  line("fencedMapAnnotation", `${message.slice(0, 100)}…`);
  const merged = await fencedGraph((a, b) => `${String(a)} / ${String(b)}`).invoke({}, thread);
  line("fencedMapAnnotation + merge function", `verdict = ${JSON.stringify(valuesOf(merged.doc).verdict)}: both kept`);
}

rmSync(dir, { recursive: true, force: true });
