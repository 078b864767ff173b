/**
 * One OS process for case (b): one invoke of the counter graph on a shared SQLite file.
 *   process.ts <official|fenced|fenced-retry> <db file> <barrier dir> <label>
 * Prints one line: "ok", or the error's class and code.
 */
import { SqliteSaver } from "@langchain/langgraph-checkpoint-sqlite";
import { FencedStateError } from "../../src/index.js";
import { FencedCheckpointSaver, invokeWithRetry } from "../../src/langgraph/index.js";
import { acrossProcesses, counterGraph, startTogether } from "./graph.js";

const [kind, db, barrierDir, label] = process.argv.slice(2) as [string, string, string, string];
const saver = kind === "official" ? SqliteSaver.fromConnString(db) : await FencedCheckpointSaver.open({ path: db });
const graph = counterGraph(startTogether(saver, acrossProcesses(barrierDir, label, 2)));
const config = { configurable: { thread_id: "shared" } };
try {
  if (kind === "fenced-retry") await invokeWithRetry(graph, { log: [label] }, config);
  else await graph.invoke({ log: [label] }, config);
  console.log("ok");
} catch (err) {
  console.log(err instanceof FencedStateError ? `${err.name} ${err.code}` : `unexpected ${String(err)}`);
} finally {
  if (saver instanceof FencedCheckpointSaver) await saver.store.close();
}
