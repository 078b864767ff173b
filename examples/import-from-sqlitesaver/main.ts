/**
 * Moving an app from the official SqliteSaver to FencedCheckpointSaver without losing a thread: a support bot's
 * threads (one waiting for a human at an interrupt) are imported, read back the same, and the waiting one resumes on
 * the fenced store. A second import copies nothing. No LLM, no API key.
 *
 *   npx tsx examples/import-from-sqlitesaver/main.ts
 *
 * The same from a shell: fenced import --from sqlite:./checkpoints.db --db ./.fenced/state.db
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { Annotation, Command, END, interrupt, START, StateGraph, type StateSnapshot } from "@langchain/langgraph";
import type { BaseCheckpointSaver } from "@langchain/langgraph-checkpoint";
import { SqliteSaver } from "@langchain/langgraph-checkpoint-sqlite";
import { FencedCheckpointSaver, importCheckpoints } from "../../src/langgraph/index.js";

const State = Annotation.Root({
  messages: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
});
/** Answers; a refund needs a human's approval first. */
const supportBot = (checkpointer: BaseCheckpointSaver) =>
  new StateGraph(State)
    .addNode("answer", (s) => ({ messages: [`bot: re "${s.messages.at(-1)}"`] }))
    .addNode("refund", (s) =>
      s.messages.at(-1)?.includes("refund")
        ? { messages: [`approved by ${String(interrupt("approve refund?"))}`] }
        : {},
    )
    .addEdge(START, "answer")
    .addEdge("answer", "refund")
    .addEdge("refund", END)
    .compile({ checkpointer });
const thread = (id: string) => ({ configurable: { thread_id: id } });
const line = (what: string, result: string) => console.log(`  ${what.padEnd(40)} ${result}`);
const history = async (graph: ReturnType<typeof supportBot>, id: string) => {
  const out: StateSnapshot[] = [];
  for await (const s of graph.getStateHistory(thread(id))) out.push(s);
  return out;
};

const dir = mkdtempSync(join(tmpdir(), "fenced-import-"));
const officialPath = join(dir, "checkpoints.db");

console.log("yesterday's app, on the official SqliteSaver");
const official = SqliteSaver.fromConnString(officialPath);
const before = supportBot(official);
await before.invoke({ messages: ["user: where is my order?"] }, thread("ana"));
await before.invoke({ messages: ["user: thanks!"] }, thread("ana"));
await before.invoke({ messages: ["user: I want a refund"] }, thread("ben"));
line("ben is waiting for", String((await before.getState(thread("ben"))).tasks[0]?.interrupts[0]?.value));

console.log("import into a fenced store");
const fenced = await FencedCheckpointSaver.open({ path: join(dir, "state.db") });
const first = await importCheckpoints({ from: `sqlite:${officialPath}`, to: fenced });
const counts = (c: object) =>
  Object.entries(c)
    .map(([k, v]) => `${v} ${k}`)
    .join(", ");
line("source", counts(first.source));
line("copied", counts(first.copied));
line("verified", counts(first.verified));
const after = supportBot(fenced);
for (const id of ["ana", "ben"]) {
  const same = isDeepStrictEqual(await history(after, id), await history(before, id));
  line(`${id}: getStateHistory`, same ? "the same as on SqliteSaver" : "DIFFERENT");
}
line("run it again: copied", counts((await importCheckpoints({ from: `sqlite:${officialPath}`, to: fenced })).copied));

console.log("today's app, on FencedCheckpointSaver");
await after.invoke(new Command({ resume: "a human" }), thread("ben"));
line("ben", (await after.getState(thread("ben"))).values.messages.join(" | "));

official.db.close();
await fenced.close();
rmSync(dir, { recursive: true, force: true });
