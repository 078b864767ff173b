/**
 * `invokeWithRetry` and human answers (issue 13.4): a `Command({ resume })` is re-run only against the interrupt it
 * answered. Real interrupts (`interrupt()`), real concurrent invokes on FencedCheckpointSaver, every backend.
 */
import { Annotation, Command, END, START, StateGraph, interrupt } from "@langchain/langgraph";
import { afterEach, describe, expect, it } from "vitest";
import { VersionConflictError } from "../../src/index.js";
import { FencedCheckpointSaver, invokeWithRetry } from "../../src/langgraph/index.js";
import { barrier } from "./fixtures/counter.js";
import { saverFixtures } from "./fixtures/checkpoints.js";

const State = Annotation.Root({ log: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }) });

/**
 * "approve step 1?" then "approve step 2 (payment)?". Step 1 waits until `racers` runs have its answer, so racing
 * resumes all start from the same head.
 */
function approvalGraph(saver: FencedCheckpointSaver, racers = 2) {
  const bothAnswered = barrier(racers);
  return new StateGraph(State)
    .addNode("step1", async () => {
      const answer = interrupt<string, string>("approve step 1?");
      await bothAnswered();
      return { log: [`step 1: ${answer}`] };
    })
    .addNode("step2", () => ({ log: [`payment: ${interrupt<string, string>("approve step 2 (payment)?")}`] }))
    .addEdge(START, "step1")
    .addEdge("step1", "step2")
    .addEdge("step2", END)
    .compile({ checkpointer: saver });
}

const thread = (id: string) => ({ configurable: { thread_id: id } });

/** The ids of the interrupts waiting at the thread's head. */
async function pendingInterrupts(graph: ReturnType<typeof approvalGraph>, threadId: string) {
  const state = await graph.getState(thread(threadId));
  return state.tasks.flatMap((t) => t.interrupts.map((i) => ({ id: i.id, value: i.value })));
}

for (const fixture of saverFixtures()) {
  describe(`invokeWithRetry and interrupts on ${fixture.name} (13.4)`, () => {
    afterEach(() => fixture.cleanup());

    for (const durability of ["exit", "sync", "async"] as const) {
      it(`two answers to "approve step 1?" race: the loser gets the conflict, its answer never approves the payment (durability ${durability})`, async () => {
        const graph = approvalGraph(await fixture.saver());
        await graph.invoke({ log: ["order 42"] }, thread("t"));
        const [step1] = await pendingInterrupts(graph, "t");
        expect(step1?.value).toBe("approve step 1?");

        const outcomes = await Promise.allSettled(
          ["yes", "no"].map((answer) => invokeWithRetry(graph, new Command({ resume: answer }), thread("t"), { durability })),
        );
        const rejected = outcomes.filter((o): o is PromiseRejectedResult => o.status === "rejected");
        expect(rejected).toHaveLength(1);
        const err = rejected[0]!.reason as VersionConflictError;
        expect(err).toBeInstanceOf(VersionConflictError);
        expect(err.details.notRetried).toMatch(/interrupt/);

        const log: string[] = (await graph.getState(thread("t"))).values.log;
        expect(log).toHaveLength(2);
        expect(log[1]).toMatch(/^step 1: (yes|no)$/);
        expect(log.some((l) => l.startsWith("payment"))).toBe(false);
        expect((await pendingInterrupts(graph, "t")).map((i) => i.value)).toEqual(["approve step 2 (payment)?"]);
      });
    }
  });
}
