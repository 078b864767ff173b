/**
 * Every way LangGraph forks a thread, run with the real @langchain/langgraph next to its own MemorySaver: time travel,
 * updateState on an old checkpoint, `"__copy__"` and replays from (nested) subgraph snapshots. G7 lets each through
 * only when asked for with `forkConfig`, and then the thread must read back exactly what MemorySaver reads back (G6:
 * nothing silently wrong).
 */
import {
  Annotation,
  Command,
  END,
  INTERRUPT,
  interrupt,
  MemorySaver,
  START,
  StateGraph,
  type StateSnapshot,
} from "@langchain/langgraph";
import type { RunnableConfig } from "@langchain/core/runnables";
import type { BaseCheckpointSaver } from "@langchain/langgraph-checkpoint";
import { afterEach, describe, expect, it } from "vitest";
import { VersionConflictError } from "../../src/index.js";
import { forkConfig } from "../../src/langgraph/index.js";
import { saverFixtures } from "./fixtures/checkpoints.js";
import { barrier, gateLatestReads } from "./fixtures/counter.js";

const thread = (id: string): RunnableConfig => ({ configurable: { thread_id: id } });

const State = Annotation.Root({
  count: Annotation<number>(),
  log: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
});

/** Two steps per run: `a` counts, `b` logs. */
function twoStepGraph(checkpointer: BaseCheckpointSaver) {
  return new StateGraph(State)
    .addNode("a", (s) => ({ count: (s.count ?? 0) + 1 }))
    .addNode("b", (s) => ({ log: [`b saw ${s.count}`] }))
    .addEdge(START, "a")
    .addEdge("a", "b")
    .addEdge("b", END)
    .compile({ checkpointer });
}

async function history(graph: ReturnType<typeof twoStepGraph>, config: RunnableConfig): Promise<StateSnapshot[]> {
  const out: StateSnapshot[] = [];
  for await (const s of graph.getStateHistory(config)) out.push(s);
  return out;
}

/** What a reader sees of a snapshot, without ids and timestamps (they differ between two savers by design). */
function seen(s: StateSnapshot) {
  return {
    values: s.values,
    next: s.next,
    step: s.metadata?.step,
    source: s.metadata?.source,
    tasks: s.tasks.map((t) => t.name),
  };
}

for (const fixture of saverFixtures()) {
  describe(`forks on ${fixture.name}, next to MemorySaver`, () => {
    afterEach(() => fixture.cleanup());

    for (const which of ["root", "middle", "head"] as const) {
      it(`G6/G7: updateState(forkConfig(…), null, "__copy__") of the ${which} checkpoint reads back what MemorySaver reads back`, async () => {
        const ours = twoStepGraph(await fixture.saver());
        const theirs = twoStepGraph(new MemorySaver());
        for (const graph of [ours, theirs]) {
          await graph.invoke({ log: ["one"] }, thread("c"));
          await graph.invoke({ log: ["two"] }, thread("c"));
        }
        const [oursHistory, theirsHistory] = [await history(ours, thread("c")), await history(theirs, thread("c"))];
        expect(oursHistory.map(seen)).toEqual(theirsHistory.map(seen));
        const index = { root: oursHistory.length - 1, middle: Math.floor(oursHistory.length / 2), head: 0 }[which];

        const oursCopy = await ours.updateState(forkConfig(oursHistory[index]!.config), null, "__copy__");
        const theirsCopy = await theirs.updateState(theirsHistory[index]!.config, null, "__copy__");
        // The copy reads back as the copied checkpoint's state, and it is the new head on both.
        expect(seen(await ours.getState(oursCopy))).toEqual(seen(await theirs.getState(theirsCopy)));
        expect(seen(await ours.getState(thread("c")))).toEqual(seen(await theirs.getState(thread("c"))));
        expect((await ours.getState(oursCopy)).values).toEqual(oursHistory[index]!.values);
        expect((await ours.getState(oursCopy)).next).toEqual(oursHistory[index]!.next);
        // A run goes on from the copy the same way on both.
        const [oursOut, theirsOut] = [await ours.invoke(null, thread("c")), await theirs.invoke(null, thread("c"))];
        expect(oursOut).toEqual(theirsOut);
        expect((await history(ours, thread("c"))).map(seen)).toEqual((await history(theirs, thread("c"))).map(seen));
      });
    }

    it("G7: a copy without forkConfig is a conflict that names both checkpoints and says how to fork", async () => {
      const graph = twoStepGraph(await fixture.saver());
      await graph.invoke({ log: ["one"] }, thread("nc"));
      const [head] = await history(graph, thread("nc"));
      const err = await graph.updateState(head!.config, null, "__copy__").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(VersionConflictError);
      expect((err as VersionConflictError).message).toContain("forkConfig(");
      expect((await graph.getState(thread("nc"))).config.configurable?.checkpoint_id).toBe(
        head!.config.configurable?.checkpoint_id,
      );
    });

    it("G7: time travel and updateState on an old checkpoint without forkConfig name both checkpoints and how to fork", async () => {
      const graph = twoStepGraph(await fixture.saver());
      await graph.invoke({ log: ["one"] }, thread("tt"));
      await graph.invoke({ log: ["two"] }, thread("tt"));
      const [head, , old] = await history(graph, thread("tt"));
      for (const attempt of [
        () => graph.invoke({ log: ["again"] }, old!.config),
        () => graph.updateState(old!.config, { count: 9 }),
      ]) {
        const err = (await attempt().catch((e: unknown) => e)) as VersionConflictError;
        expect(err).toBeInstanceOf(VersionConflictError);
        expect(err.details).toMatchObject({
          reason: "old-checkpoint",
          parentCheckpointId: old!.config.configurable?.checkpoint_id,
          headCheckpointId: head!.config.configurable?.checkpoint_id,
        });
        expect(err.message).toContain(old!.config.configurable?.checkpoint_id);
        expect(err.message).toContain(head!.config.configurable?.checkpoint_id);
        expect(err.message).toContain("forkConfig(config)");
        expect(err.message).not.toMatch(/another run/i);
      }
    });

    it("G7: a real concurrent advance keeps its message: another run advanced the thread", async () => {
      const saver = gateLatestReads(await fixture.saver(), barrier(2));
      const graph = twoStepGraph(saver);
      const outcomes = await Promise.allSettled(
        [1, 2].map((n) => graph.invoke({ log: [`run ${n}`] }, { ...thread("race"), durability: "sync" })),
      );
      const rejected = outcomes.filter((o): o is PromiseRejectedResult => o.status === "rejected");
      expect(rejected).toHaveLength(1);
      const err = rejected[0]!.reason as VersionConflictError;
      expect(err).toBeInstanceOf(VersionConflictError);
      expect(err.details.reason).toBe("head-moved");
      expect(err.message).toMatch(/another run advanced the thread/i);
    });

    it("G7: forkConfig of a doubly nested subgraph snapshot replays it, as on MemorySaver", async () => {
      const ours = nestedGraph(await fixture.saver());
      const theirs = nestedGraph(new MemorySaver());
      const grandchildren: StateSnapshot[] = [];
      for (const graph of [ours, theirs]) {
        const paused = (await graph.invoke({ n: 1 }, thread("n"))) as Record<string, unknown>;
        expect(paused[INTERRUPT]).toBeDefined();
        const root = await graph.getState(thread("n"), { subgraphs: true });
        const child = root.tasks[0]?.state as StateSnapshot;
        const grandchild = child.tasks[0]?.state as StateSnapshot;
        expect(grandchild.config.configurable?.checkpoint_ns?.split("|")).toHaveLength(2);
        grandchildren.push(grandchild);
        expect(await graph.invoke(new Command({ resume: 10 }), thread("n"))).toEqual({ n: 12 });
      }
      // Replaying the grandchild re-runs the root from the root checkpoint that held it (`checkpoint_map[""]`), an old
      // checkpoint by now: without forkConfig that is a conflict.
      await expect(ours.invoke(null, grandchildren[0]!.config)).rejects.toBeInstanceOf(VersionConflictError);
      const oursOut = await ours.invoke(null, forkConfig(grandchildren[0]!.config));
      const theirsOut = await theirs.invoke(null, grandchildren[1]!.config);
      expect(interrupted(oursOut)).toEqual(interrupted(theirsOut));
      expect(seen(await ours.getState(thread("n")))).toEqual(seen(await theirs.getState(thread("n"))));
    });
  });
}

/** A graph's output with its interrupts reduced to their values (interrupt ids derive from checkpoint ids). */
function interrupted(out: unknown) {
  const { [INTERRUPT]: asked, ...values } = out as Record<string, unknown>;
  return { ...values, asked: (asked as { value: unknown }[] | undefined)?.map((i) => i.value) };
}

const Nested = Annotation.Root({ n: Annotation<number>() });

/** root → outer (subgraph) → inner (subgraph) → ask (interrupts) → add; root then adds 1. */
function nestedGraph(checkpointer: BaseCheckpointSaver) {
  const inner = new StateGraph(Nested)
    .addNode("ask", (s) => ({ n: s.n + (interrupt("how much?") as number) }))
    .addEdge(START, "ask")
    .addEdge("ask", END)
    .compile();
  const outer = new StateGraph(Nested).addNode("inner", inner).addEdge(START, "inner").addEdge("inner", END).compile();
  return new StateGraph(Nested)
    .addNode("outer", outer)
    .addNode("inc", (s) => ({ n: s.n + 1 }))
    .addEdge(START, "outer")
    .addEdge("outer", "inc")
    .addEdge("inc", END)
    .compile({ checkpointer });
}
