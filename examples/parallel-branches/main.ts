/**
 * Fenced reducers for state that parallel branches and `Send` workers share. A research board is filled by four
 * `Send` workers at once, then judged by two reviewers in parallel. No LLM, no API key.
 *
 *   npx tsx examples/parallel-branches/main.ts
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Annotation, END, Send, START, StateGraph } from "@langchain/langgraph";
import { VersionConflictError } from "../../src/index.js";
import {
  FencedCheckpointSaver,
  edit,
  fencedMapAnnotation,
  valuesOf,
  type FencedMap,
  type FencedMapOptions,
} from "../../src/langgraph/index.js";

type Board = { findings: string[]; sources: number; owners: { [area: string]: string }; verdict: string };
const AREAS = ["pricing", "security", "latency", "support"];

const dir = mkdtempSync(join(tmpdir(), "fenced-branches-"));
const checkpointer = await FencedCheckpointSaver.open({ path: join(dir, "state.db") });

function researchGraph(options: FencedMapOptions<Board> = {}) {
  const State = Annotation.Root({ board: fencedMapAnnotation<Board>(options) });
  return (
    new StateGraph(State)
      .addNode("research", (arg: { board: FencedMap<Board>; area: string }) => ({
        // Commutative ops: every worker's change lands, whatever the others do in the same step.
        board: edit(arg.board)
          .append("findings", `${arg.area}: looked fine`)
          .increment("sources", 2)
          .merge("owners", { [arg.area]: `worker-${arg.area}` }),
      }))
      // Two reviewers read the same board and both set the verdict: a real conflict, which must not vanish.
      .addNode("optimist", (s) => ({ board: edit(s.board).set("verdict", "ship it") }))
      .addNode("skeptic", (s) => ({ board: edit(s.board).set("verdict", "needs another pass") }))
      .addConditionalEdges(START, (s) => AREAS.map((area) => new Send("research", { board: s.board, area })))
      .addEdge("research", "optimist")
      .addEdge("research", "skeptic")
      .addEdge("optimist", END)
      .addEdge("skeptic", END)
      .compile({ checkpointer })
  );
}

console.log(`four Send workers research ${AREAS.join(", ")} in parallel; then two reviewers set the verdict\n`);

const config = { configurable: { thread_id: "review-1" } };
try {
  await researchGraph().invoke({}, config);
} catch (err) {
  if (!(err instanceof VersionConflictError)) throw err;
  // The checkpoint after the workers' step; the reviewers' clashing writes stay pending on it, nothing is dropped.
  const saved = (await checkpointer.getTuple(config))!.checkpoint.channel_values.board as FencedMap<Board>;
  const state = valuesOf(saved);
  console.log("without a merge function:");
  console.log(
    `  the workers' updates all landed: ${state.findings?.length} findings, ${state.sources} sources, owners of ${Object.keys(
      state.owners ?? {},
    )
      .sort()
      .join(", ")}`,
  );
  const tasks = (err.details.tasks as string[]).map((t) => t.split(":")[0]).sort();
  console.log(
    `  the reviewers' verdicts clash: VersionConflictError on field "${err.details.key}" between ${tasks.join(" and ")}`,
  );
  console.log("  (a LangGraph merge reducer would have kept one verdict and dropped the other without a word)\n");
}

// Give the field a merge policy and resume the same thread: the pending writes go through it, both verdicts kept.
const merged = await researchGraph({
  merge: { verdict: (current, proposed) => `${String(current)}; ${String(proposed)} (reviewers disagree)` },
}).invoke(null, config);
const board = valuesOf(merged.board);
console.log("resumed with a merge function for verdict:");
console.log(`  findings: ${[...(board.findings ?? [])].sort().join(" | ")}`);
console.log(
  `  sources: ${board.sources}; owners: ${JSON.stringify(Object.fromEntries(Object.entries(board.owners ?? {}).sort()))}`,
);
console.log(`  verdict: ${board.verdict}`);
console.log(
  `  field versions: ${Object.entries(merged.board)
    .map(([k, f]) => `${k}@${f?.version}`)
    .sort()
    .join(", ")}`,
);

await checkpointer.store.close();
rmSync(dir, { recursive: true, force: true });
