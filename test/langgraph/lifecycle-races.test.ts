/**
 * The lifecycle on a real graph, on every backend, and its races (docs/lifecycle.md): prune vs a running run, copy vs
 * writes to the source, sweep vs a resume of an old interrupted thread, rollback vs the run it rolls back. Each race
 * is made deterministic by running the other side at the one moment it hurts: after the operation has read the thread
 * and before it commits. A graph keeps working after each one (invoke, resume, getStateHistory).
 */
import type { RunnableConfig } from "@langchain/core/runnables";
import { Command } from "@langchain/langgraph";
import { afterEach, describe, expect, it } from "vitest";
import { FencedError } from "../../src/index.js";
import { FencedCheckpointSaver, invokeWithClaim, withThreadClaim } from "../../src/langgraph/index.js";
import { counterGraph, latch } from "./fixtures/counter.js";
import { stalledCounter } from "./fixtures/stalled.js";
import { saverFixtures } from "./fixtures/checkpoints.js";
import { reviewGraph } from "./fixtures/review.js";

const thread = (id: string): RunnableConfig => ({ configurable: { thread_id: id } });

async function history(
  graph: { getStateHistory(config: RunnableConfig): AsyncIterableIterator<unknown> },
  config: RunnableConfig,
) {
  const out: unknown[] = [];
  for await (const s of graph.getStateHistory(config)) out.push(s);
  return out;
}

/** Runs `body` once, the first time the saver's lifecycle lists a thread's checkpoints: after it read the heads. */
function onFirstListing(saver: FencedCheckpointSaver, body: () => Promise<unknown>): void {
  const reader = saver.lifecycle.checkpoints;
  const list = reader.listCheckpoints.bind(reader);
  let fired = false;
  saver.lifecycle.checkpoints = {
    ...reader,
    getCheckpoint: reader.getCheckpoint.bind(reader),
    getHeadCheckpoint: reader.getHeadCheckpoint.bind(reader),
    listCheckpoints: async (q) => {
      if (!fired && q.threadId !== undefined) {
        fired = true;
        await body();
      }
      return list(q);
    },
  };
}

for (const fixture of saverFixtures()) {
  describe(`thread lifecycle on a graph, ${fixture.name}`, () => {
    afterEach(() => fixture.cleanup());

    it("a pruned thread keeps its state and runs on: invoke, getStateHistory, and prune again", async () => {
      const saver = await fixture.saver();
      const graph = counterGraph(saver);
      for (const label of ["a", "b", "c"]) await graph.invoke({ log: [label] }, thread("t"));
      const before = (await history(graph, thread("t"))).length;
      const pruned = await saver.prune(["t"]);
      expect(pruned.checkpoints).toBe(before - 1);
      expect((await graph.getState(thread("t"))).values).toEqual({ count: 3, log: ["a", "b", "c"] });
      expect(await history(graph, thread("t"))).toHaveLength(1);
      await graph.invoke({ log: ["d"] }, thread("t"));
      expect((await graph.getState(thread("t"))).values).toEqual({ count: 4, log: ["a", "b", "c", "d"] });
      expect((await history(graph, thread("t"))).length).toBeGreaterThan(1);
    });

    it("an interrupted thread, pruned, still answers its interrupt (the head's pending writes stay)", async () => {
      const saver = await fixture.saver();
      const graph = reviewGraph(saver);
      await graph.invoke({ count: 0 }, thread("t"));
      expect(await saver.threadStatus("t")).toMatchObject({
        status: "interrupted",
        interrupts: [{ value: "approve?" }],
      });
      await saver.prune(["t"]);
      await graph.invoke(new Command({ resume: "yes" }), thread("t"));
      expect((await graph.getState(thread("t"))).values).toEqual({ count: 1, answer: "yes" });
      expect(await saver.threadStatus("t")).toEqual({ status: "idle" });
    });

    it("prune vs a running run: the run finishes on the pruned thread and nothing is lost", async () => {
      const saver = await fixture.saver();
      const { graph, entered, release } = stalledCounter(saver);
      for (const label of ["a", "b"]) await graph.invoke({ log: [label] }, thread("t"));
      const run = graph.invoke({ log: ["slow"] }, { ...thread("t"), durability: "sync" });
      await entered;
      expect((await saver.prune(["t"])).checkpoints).toBeGreaterThan(0);
      release();
      await run;
      expect((await graph.getState(thread("t"))).values).toEqual({ count: 3, log: ["a", "b", "slow"] });
      await graph.invoke({ log: ["d"] }, thread("t"));
      expect((await graph.getState(thread("t"))).values).toEqual({ count: 4, log: ["a", "b", "slow", "d"] });
    });

    it("prune vs a put that lands after it read the thread: it reads again and never deletes the new head (G7)", async () => {
      const saver = await fixture.saver();
      const graph = counterGraph(saver);
      for (const label of ["a", "b"]) await graph.invoke({ log: [label] }, thread("t"));
      onFirstListing(saver, () => graph.invoke({ log: ["racer"] }, thread("t")));
      await saver.prune(["t"]);
      expect((await graph.getState(thread("t"))).values).toEqual({ count: 3, log: ["a", "b", "racer"] });
      expect(await history(graph, thread("t"))).toHaveLength(1);
      await graph.invoke({ log: ["c"] }, thread("t"));
      expect((await graph.getState(thread("t"))).values).toEqual({ count: 4, log: ["a", "b", "racer", "c"] });
    });

    it("copy vs a write to the source: the copy is one snapshot, at the source's head as it is when the copy lands", async () => {
      const saver = await fixture.saver();
      const graph = counterGraph(saver);
      for (const label of ["a", "b"]) await graph.invoke({ log: [label] }, thread("src"));
      onFirstListing(saver, () => graph.invoke({ log: ["racer"] }, thread("src")));
      await saver.copyThread("src", "dst");
      const source = await graph.getState(thread("src"));
      const copy = await graph.getState(thread("dst"));
      expect(copy.values).toEqual({ count: 3, log: ["a", "b", "racer"] });
      expect(copy.config.configurable?.checkpoint_id).toBe(source.config.configurable?.checkpoint_id);
      expect(await history(graph, thread("dst"))).toHaveLength((await history(graph, thread("src"))).length);
      await graph.invoke({ log: ["only-dst"] }, thread("dst"));
      expect((await graph.getState(thread("dst"))).values).toEqual({ count: 4, log: ["a", "b", "racer", "only-dst"] });
      expect((await graph.getState(thread("src"))).values).toEqual({ count: 3, log: ["a", "b", "racer"] });
    });

    it("deleteForRuns takes a claimed run back: the head is the one before it, and the thread runs on", async () => {
      const saver = await fixture.saver();
      const graph = counterGraph(saver);
      await invokeWithClaim(graph, { log: ["a"] }, thread("t"), { runId: "run-a" });
      await invokeWithClaim(graph, { log: ["b"] }, thread("t"), { runId: "run-b" });
      const removed = await saver.deleteForRuns(["run-b"]);
      expect(removed.threads).toBe(1);
      expect((await graph.getState(thread("t"))).values).toEqual({ count: 1, log: ["a"] });
      await graph.invoke({ log: ["c"] }, thread("t"));
      expect((await graph.getState(thread("t"))).values).toEqual({ count: 2, log: ["a", "c"] });
    });

    describe("TTL sweep", () => {
      const HOUR = 3_600_000;
      /** A saver with a thread TTL on a store whose clock the test moves. */
      async function ttlSaver(strategy: "keep_latest" | "delete") {
        let now = Date.now();
        const store = await fixture.open({ clock: () => now });
        const saver = new FencedCheckpointSaver(store, { ttl: { idleMs: HOUR, strategy } });
        return { saver, later: (ms: number) => (now += ms) };
      }

      it("delete: removes threads idle past the TTL, keeps the others, and counts it in the event log", async () => {
        const { saver, later } = await ttlSaver("delete");
        const graph = counterGraph(saver);
        await graph.invoke({ log: ["old"] }, thread("old"));
        later(2 * HOUR);
        await graph.invoke({ log: ["new"] }, thread("new"));
        const swept = await saver.sweep();
        expect(swept).toMatchObject({ threads: 1, busy: 0 });
        expect(swept.checkpoints).toBeGreaterThan(0);
        expect(await graph.getState(thread("old"))).toMatchObject({ values: {} });
        expect((await graph.getState(thread("new"))).values).toEqual({ count: 1, log: ["new"] });
        const counters = await saver.store.list("fenced-lifecycle/swept/");
        expect(Object.fromEntries(counters.map((r) => [r.key, r.exists ? r.value : undefined]))).toEqual({
          "fenced-lifecycle/swept/threads": 1,
          "fenced-lifecycle/swept/checkpoints": swept.checkpoints,
        });
        expect((await saver.store.events("fenced-lifecycle/")).map((e) => e.owner)).toEqual([
          "fenced-sweep",
          "fenced-sweep",
        ]);
        // A swept thread starts again from nothing.
        await graph.invoke({ log: ["again"] }, thread("old"));
        expect((await graph.getState(thread("old"))).values).toEqual({ count: 1, log: ["again"] });
      });

      it("keep_latest: an idle interrupted thread keeps its head and is resumed after the sweep", async () => {
        const { saver, later } = await ttlSaver("keep_latest");
        const graph = reviewGraph(saver);
        await graph.invoke({ count: 0 }, thread("t"));
        later(2 * HOUR);
        expect((await saver.sweep()).threads).toBe(1);
        expect(await saver.threadStatus("t")).toMatchObject({ status: "interrupted" });
        await graph.invoke(new Command({ resume: "late yes" }), thread("t"));
        expect((await graph.getState(thread("t"))).values).toEqual({ count: 1, answer: "late yes" });
      });

      it("vs a resume of an old interrupted thread: the resume lands first, the sweep finds the thread no longer idle", async () => {
        const { saver, later } = await ttlSaver("delete");
        const graph = reviewGraph(saver);
        await graph.invoke({ count: 0 }, thread("t"));
        later(2 * HOUR);
        onFirstListing(saver, () => graph.invoke(new Command({ resume: "yes" }), thread("t")));
        expect(await saver.sweep()).toEqual({ threads: 0, checkpoints: 0, busy: 0 });
        expect((await graph.getState(thread("t"))).values).toEqual({ count: 1, answer: "yes" });
      });

      it("sweeps in the background every sweepEveryMs, and close() stops it", async () => {
        const store = await fixture.open();
        // The thread is written before the sweeper starts: with idleMs 1 a sweep may otherwise delete it between two
        // steps of this very run (no run claim holds it), and the run's next put finds its head gone.
        await counterGraph(new FencedCheckpointSaver(store)).invoke({ log: ["a"] }, thread("t"));
        const saver = new FencedCheckpointSaver(store, { ttl: { idleMs: 1, strategy: "delete", sweepEveryMs: 20 } });
        const graph = counterGraph(saver);
        for (
          const deadline = Date.now() + 20_000;
          (await saver.threadStatus("t")).status !== "idle" || (await saver.getTuple(thread("t")));
        ) {
          if (Date.now() > deadline) throw new Error("the background sweep never ran");
          await new Promise((r) => setTimeout(r, 20));
        }
        await saver.close();
        await graph.invoke({ log: ["b"] }, thread("u"));
        await new Promise((r) => setTimeout(r, 200));
        expect((await graph.getState(thread("u"))).values).toEqual({ count: 1, log: ["b"] });
      });

      it("leaves a thread alone while a run holds it, however long it has been idle", async () => {
        const { saver, later } = await ttlSaver("delete");
        const graph = reviewGraph(saver);
        await graph.invoke({ count: 0 }, thread("t"));
        // A run took the thread and has been thinking for two hours: nothing moved, but the thread is not idle.
        const swept = await withThreadClaim(saver, thread("t"), () => (later(2 * HOUR), saver.sweep()), {
          ttlMs: 10 * HOUR,
        });
        expect(swept).toEqual({ threads: 0, checkpoints: 0, busy: 1 });
        expect(await saver.threadStatus("t")).toMatchObject({ status: "interrupted" });
      });
    });

    describe("threadStatus", () => {
      it("idle, busy (owner, run id, since, lease end) while a claimed run holds it, interrupted, idle again", async () => {
        const saver = await fixture.saver();
        expect(await saver.threadStatus("t")).toEqual({ status: "idle" });
        const { graph, entered, release } = stalledCounter(saver);
        const run = invokeWithClaim(graph, { log: ["slow"] }, thread("t"), { owner: "worker-1", runId: "run-1" });
        await entered;
        const busy = await saver.threadStatus("t");
        expect(busy).toMatchObject({ status: "busy", owner: "worker-1", runId: "run-1" });
        expect(busy.status === "busy" && busy.since! <= saver.store.now() && busy.expiresAt > saver.store.now()).toBe(
          true,
        );
        release();
        await run;
        expect(await saver.threadStatus("t")).toEqual({ status: "idle" });
        const review = reviewGraph(saver);
        await review.invoke({ count: 0 }, thread("r"));
        expect(await saver.threadStatus("r")).toMatchObject({
          status: "interrupted",
          interrupts: [{ value: "approve?" }],
        });
      });
    });

    describe("rollback", () => {
      it("vs the run it rolls back: that run is fenced, its checkpoints go, the thread is back where it was", async () => {
        const saver = await fixture.saver();
        const { graph, entered, release } = stalledCounter(saver);
        await invokeWithClaim(graph, { log: ["a"] }, thread("t"));
        const before = (await graph.getState(thread("t"))).config.configurable?.checkpoint_id;
        const slow = withThreadClaim(
          saver,
          thread("t"),
          (run) => graph.invoke({ log: ["slow"] }, { ...run.config, durability: "sync" }),
          {
            runId: "slow-run",
          },
        ).catch((e: unknown) => e);
        await entered;
        // The slow run has landed its input checkpoint: the thread shows "slow" in its log now.
        expect((await graph.getState(thread("t"))).values.log).toEqual(["a", "slow"]);
        await invokeWithClaim(graph, { log: ["b"] }, thread("t"), { multitaskStrategy: "rollback" });
        release();
        expect(await slow).toBeInstanceOf(FencedError);
        expect((await graph.getState(thread("t"))).values).toEqual({ count: 2, log: ["a", "b"] });
        const runs = [];
        const ids = [];
        for await (const t of saver.list(thread("t")))
          runs.push((t.metadata as Record<string, unknown>).run_id), ids.push(t.checkpoint.id);
        expect(runs).not.toContain("slow-run");
        expect(ids).toContain(before);
        await graph.invoke({ log: ["c"] }, thread("t"));
        expect((await graph.getState(thread("t"))).values).toEqual({ count: 3, log: ["a", "b", "c"] });
      });

      it("from another process (a second store on the same data) takes back the run there", async () => {
        const saver = await fixture.saver();
        const other = new FencedCheckpointSaver(await fixture.openTwin(saver.store));
        const { graph, entered, release } = stalledCounter(saver);
        await invokeWithClaim(graph, { log: ["a"] }, thread("t"));
        const slow = invokeWithClaim(graph, { log: ["slow"] }, {
          ...thread("t"),
          durability: "sync",
        } as RunnableConfig).catch((e: unknown) => e);
        await entered;
        await invokeWithClaim(counterGraph(other), { log: ["b"] }, thread("t"), { multitaskStrategy: "rollback" });
        release();
        expect(await slow).toBeInstanceOf(FencedError);
        expect((await graph.getState(thread("t"))).values).toEqual({ count: 2, log: ["a", "b"] });
      });

      it("of a resume: the answer and what the run wrote go; the interrupt waits again and takes a new answer", async () => {
        const saver = await fixture.saver();
        const entered = latch();
        const stalled = latch();
        let holding = true;
        const graph = reviewGraph(saver, async () => {
          if (!holding) return;
          entered.release();
          await stalled.promise;
        });
        await graph.invoke({ count: 0 }, thread("t"));
        const resumed = withThreadClaim(saver, thread("t"), (run) =>
          graph.invoke(new Command({ resume: "first answer" }), run.config),
        ).catch((e: unknown) => e);
        await entered.promise;
        holding = false;
        await withThreadClaim(saver, thread("t"), async () => undefined, { multitaskStrategy: "rollback" });
        stalled.release();
        expect(await resumed).toBeInstanceOf(FencedError);
        expect(await saver.threadStatus("t")).toMatchObject({
          status: "interrupted",
          interrupts: [{ value: "approve?" }],
        });
        // The rolled-back answer is gone from the checkpoint it was written to: continuing asks again.
        const head = await saver.getTuple(thread("t"));
        expect(head!.pendingWrites!.map(([, , value]) => value)).not.toContain("first answer");
        await graph.invoke(null, thread("t"));
        expect((await graph.getState(thread("t"))).values).toEqual({ count: 1 });
        expect(await saver.threadStatus("t")).toMatchObject({ status: "interrupted" });
        await graph.invoke(new Command({ resume: "second answer" }), thread("t"));
        expect((await graph.getState(thread("t"))).values).toEqual({ count: 1, answer: "second answer" });
      });
    });
  });
}
