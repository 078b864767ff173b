/**
 * `invokeWithRetry` and human answers (issue 13.4): a `Command({ resume })` is re-run only against the interrupt it
 * answered. Real interrupts (`interrupt()`), real concurrent invokes on FencedCheckpointSaver, every backend.
 */
import type { RunnableConfig } from "@langchain/core/runnables";
import { Annotation, Command, END, START, StateGraph, interrupt, type StateSnapshot } from "@langchain/langgraph";
import { emptyCheckpoint, type CheckpointTuple } from "@langchain/langgraph-checkpoint";
import { afterEach, describe, expect, it } from "vitest";
import { VersionConflictError } from "../../src/index.js";
import { type FencedCheckpointSaver, invokeWithRetry } from "../../src/langgraph/index.js";
import { answeredInterrupts, defaultVerdict, inputKind, pendingInterrupts } from "../../src/langgraph/rerun.js";
import { barrier, gateLatestReads } from "./fixtures/counter.js";
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

/** The interrupts waiting at the thread's head, as LangGraph reports them. */
async function interruptsAt(graph: { getState(config: RunnableConfig): Promise<StateSnapshot> }, threadId: string) {
  const state = await graph.getState(thread(threadId));
  return state.tasks.flatMap((t) => t.interrupts.map((i) => ({ id: i.id!, value: i.value })));
}

for (const fixture of saverFixtures()) {
  describe(`invokeWithRetry and interrupts on ${fixture.name} (13.4)`, () => {
    afterEach(() => fixture.cleanup());

    for (const [durability, addressed] of [
      ["exit", false],
      ["sync", false],
      ["async", false],
      ["exit", true],
      ["sync", true],
    ] as const) {
      const how = addressed ? "by interrupt id" : "as a plain value";
      it(`two answers to "approve step 1?" race (${how}): the loser gets the conflict, its answer never approves the payment (durability ${durability})`, async () => {
        const graph = approvalGraph(await fixture.saver());
        await graph.invoke({ log: ["order 42"] }, thread("t"));
        const [step1] = await interruptsAt(graph, "t");
        expect(step1?.value).toBe("approve step 1?");

        const resume = (answer: string) => (addressed ? { [step1!.id]: answer } : answer);
        const outcomes = await Promise.allSettled(
          ["yes", "no"].map((answer) =>
            invokeWithRetry(graph, new Command({ resume: resume(answer) }), thread("t"), { durability }),
          ),
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
        expect((await interruptsAt(graph, "t")).map((i) => i.value)).toEqual(["approve step 2 (payment)?"]);
      });
    }

    it("a resume map naming an interrupt that is no longer pending is the caller's conflict, before anything runs", async () => {
      const graph = approvalGraph(await fixture.saver(), 1);
      await graph.invoke({ log: ["order 42"] }, thread("t"));
      const [step1] = await interruptsAt(graph, "t");
      await invokeWithRetry(graph, new Command({ resume: { [step1!.id]: "yes" } }), thread("t"));
      const before = await graph.getState(thread("t"));
      const err = await invokeWithRetry(graph, new Command({ resume: { [step1!.id]: "late yes" } }), thread("t")).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(VersionConflictError);
      expect((err as VersionConflictError).details.notRetried).toMatch(/no longer pending/);
      const after = await graph.getState(thread("t"));
      expect(after.values).toEqual(before.values);
      expect(after.config.configurable?.checkpoint_id).toBe(before.config.configurable?.checkpoint_id);
    });

    it("an answer by id that another run consumes between the helper's check and the attempt's load is refused, not ignored", async () => {
      const saver = await fixture.saver();
      const graph = approvalGraph(saver, 1);
      await graph.invoke({ log: ["order 42"] }, thread("t"));
      const [step1] = await interruptsAt(graph, "t");
      const getTuple = saver.getTuple.bind(saver);
      let latestReads = 0;
      saver.getTuple = async (config) => {
        // Read 1 is the helper's check; read 2 the attempt's load: another answer lands just before it.
        if (!config.configurable?.checkpoint_id && ++latestReads === 2) {
          saver.getTuple = getTuple;
          await graph.invoke(new Command({ resume: { [step1!.id]: "yes" } }), thread("t"));
        }
        return getTuple(config);
      };
      const err = await invokeWithRetry(graph, new Command({ resume: { [step1!.id]: "no" } }), thread("t")).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(VersionConflictError);
      expect((err as VersionConflictError).details.notRetried).toBeDefined();
      expect((await graph.getState(thread("t"))).values.log).toEqual(["order 42", "step 1: yes"]);
      expect((await interruptsAt(graph, "t")).map((i) => i.value)).toEqual(["approve step 2 (payment)?"]);
    });

    it("an answer to an interrupt inside a subgraph, by id, is accepted and applied", async () => {
      const inner = new StateGraph(State)
        .addNode("ask", () => ({ log: [`inner: ${interrupt<string, string>("inner question")}`] }))
        .addEdge(START, "ask")
        .addEdge("ask", END)
        .compile();
      const graph = new StateGraph(State)
        .addNode("inner", inner)
        .addEdge(START, "inner")
        .addEdge("inner", END)
        .compile({ checkpointer: await fixture.saver() });
      await graph.invoke({ log: ["go"] }, thread("t"));
      const state = await graph.getState(thread("t"), { subgraphs: true });
      const id = state.tasks.flatMap((t) => t.interrupts)[0]!.id!;
      await invokeWithRetry(graph, new Command({ resume: { [id]: "ok" } }), thread("t"));
      // (The subgraph returns its whole state, so the parent's append reducer sees "go" twice: LangGraph's doing.)
      expect((await graph.getState(thread("t"))).values.log.at(-1)).toBe("inner: ok");
      expect(await interruptsAt(graph, "t")).toEqual([]);
    });

    /** Two runs racing with `input` from one head; returns the rejected one's error and the final log. */
    async function raceInputs(inputs: [unknown, unknown], options: Parameters<typeof invokeWithRetry>[3] = {}) {
      const saver = await fixture.saver();
      const graph = new StateGraph(State)
        .addNode("work", () => ({ log: ["worked"] }))
        .addEdge(START, "work")
        .addEdge("work", END)
        .compile({ checkpointer: saver, interruptBefore: ["work"] });
      await graph.invoke({ log: ["start"] }, thread("t")); // waits before "work"
      gateLatestReads(saver, barrier(2)); // both racers start from that head
      const outcomes = await Promise.allSettled(
        inputs.map((input) => invokeWithRetry(graph, input, thread("t"), options)),
      );
      const rejected = outcomes
        .filter((o): o is PromiseRejectedResult => o.status === "rejected")
        .map((o) => o.reason as VersionConflictError);
      return { rejected, log: (await graph.getState(thread("t"))).values.log as string[] };
    }

    it("two null inputs (continue) race: the winner continued, the loser gets the conflict and is not re-run", async () => {
      const { rejected, log } = await raceInputs([null, null]);
      expect(rejected).toHaveLength(1);
      expect(rejected[0]).toBeInstanceOf(VersionConflictError);
      expect(rejected[0]!.details.notRetried).toMatch(/null input/);
      expect(log).toEqual(["start", "worked"]);
    });

    it("two Command({ update }) race: the loser was computed from a state that is gone, so it is not re-run", async () => {
      const { rejected, log } = await raceInputs([
        new Command({ update: { log: ["a"] } }),
        new Command({ update: { log: ["b"] } }),
      ]);
      expect(rejected).toHaveLength(1);
      expect(rejected[0]!.details.notRetried).toMatch(/Command/);
      expect(log.filter((l) => l === "a" || l === "b")).toHaveLength(1);
    });

    it("mayRerun may re-run what the helper would not (an append-only update) and refuse what it would", async () => {
      const allowed = await raceInputs(
        [new Command({ update: { log: ["a"] } }), new Command({ update: { log: ["b"] } })],
        {
          mayRerun: (check) => check.kind === "command" || check.rerun,
          // LangGraph 1.7.3 itself applies a Command({ update }) twice on a thread with nothing next under "exit"
          // (its update is stored both in the checkpoint and as a pending write of it; MemorySaver does the same).
          durability: "sync",
        },
      );
      expect(allowed.rejected).toHaveLength(0);
      expect(allowed.log.filter((l) => l === "a" || l === "b").sort()).toEqual(["a", "b"]);
      const refused = await raceInputs([{ log: ["x"] }, { log: ["y"] }], { mayRerun: () => false });
      expect(refused.rejected).toHaveLength(1);
      expect(refused.rejected[0]!.details.notRetried).toMatch(/mayRerun/);
    });
  });

  describe(`which inputs invokeWithRetry may re-run (13.4)`, () => {
    const tuple = (writes: CheckpointTuple["pendingWrites"]): CheckpointTuple => ({
      config: { configurable: { thread_id: "t", checkpoint_id: "c" } },
      checkpoint: emptyCheckpoint(),
      metadata: { source: "loop", step: 1, parents: {} },
      pendingWrites: writes,
    });
    const i1 = "0123456789abcdef0123456789abcdef";
    const i2 = "fedcba9876543210fedcba9876543210";

    it("classifies inputs: new input, continue, resume, command", () => {
      expect(inputKind({ log: ["x"] })).toBe("input");
      expect(inputKind(null)).toBe("continue");
      expect(inputKind(undefined)).toBe("continue");
      expect(inputKind(new Command({ resume: "yes" }))).toBe("resume");
      expect(inputKind(new Command({ resume: "yes", update: { log: ["x"] } }))).toBe("command");
      expect(inputKind(new Command({ goto: "step2" }))).toBe("command");
      expect(inputKind(new Command({ update: { log: ["x"] } }))).toBe("command");
    });

    it("pending interrupts are those of tasks without output; a finished task's interrupt is not pending", () => {
      const writes: CheckpointTuple["pendingWrites"] = [
        ["task-a", "__interrupt__", [{ id: i1, value: "q1" }]],
        ["task-b", "__interrupt__", [{ id: i2, value: "q2" }]],
        ["task-b", "log", ["answered"]],
      ];
      expect(pendingInterrupts(tuple(writes))).toEqual([{ id: i1, value: "q1" }]);
      expect(pendingInterrupts(undefined)).toEqual([]);
    });

    it("a resume is re-run while the same interrupt is pending, and not once it is gone", () => {
      const atStart = [{ id: i1, value: "approve step 1?" }];
      const answers = answeredInterrupts(new Command({ resume: "yes" }), atStart);
      expect(answers).toEqual([i1]);
      expect(answeredInterrupts(new Command({ resume: { [i2]: "yes" } }), atStart)).toEqual([i2]);
      expect(defaultVerdict("resume", answers, true, atStart).rerun).toBe(true);
      const moved = defaultVerdict("resume", answers, true, [{ id: i2, value: "approve step 2 (payment)?" }]);
      expect(moved.rerun).toBe(false);
      expect(moved.reason).toMatch(/no longer pending.*payment/);
      expect(defaultVerdict("resume", answers, false, atStart).rerun).toBe(false); // started from a head it did not read
      expect(defaultVerdict("input", [], false, []).rerun).toBe(true);
    });
  });
}
