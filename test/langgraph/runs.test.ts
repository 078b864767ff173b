/**
 * Runs on a busy thread: run claims with LangGraph's double-texting strategies (G2), the retry helper, and the
 * `durability` pitfall docs/langgraph.md documents.
 */
import { Annotation, END, START, StateGraph } from "@langchain/langgraph";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  ClaimHeldError,
  FencedError,
  InvalidInputError,
  VersionConflictError,
  errorFromJSON,
} from "../../src/index.js";
import { FencedCheckpointSaver, invokeWithClaim, invokeWithRetry, withThreadClaim } from "../../src/langgraph/index.js";
import { barrier, counterGraph, gateLatestReads, latch } from "./fixtures/counter.js";
import { checkpoint, from, meta, saverFixtures } from "./fixtures/checkpoints.js";
import { ThreadKeys } from "../../src/langgraph/keys.js";

const thread = (id: string) => ({ configurable: { thread_id: id } });

for (const fixture of saverFixtures()) {
  describe(`run claims on ${fixture.name} (G2)`, () => {
    afterEach(() => fixture.cleanup());

    /** A graph whose run labelled "first" waits inside its node until released. */
    async function busyThread() {
      const saver = await fixture.saver();
      const entered = latch();
      const release = latch();
      const graph = counterGraph(saver, async (label) => {
        if (label !== "first") return;
        entered.release();
        await release.promise;
      });
      return { saver, graph, entered, release };
    }

    it("reject: a second run on a busy thread gets ClaimHeldError and writes nothing", async () => {
      const { graph, entered, release } = await busyThread();
      const first = invokeWithClaim(graph, { log: ["first"] }, thread("t"), { owner: "first" });
      await entered.promise;
      const err = await invokeWithClaim(graph, { log: ["second"] }, thread("t"), { owner: "second" }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ClaimHeldError);
      expect((err as ClaimHeldError).details.owner).toBe("first");
      release.release();
      await first;
      expect((await graph.getState(thread("t"))).values).toEqual({ count: 1, log: ["first"] });
    });

    it("enqueue: a second run waits for the thread and then runs from the first run's head", async () => {
      const { graph, entered, release } = await busyThread();
      const first = invokeWithClaim(graph, { log: ["first"] }, thread("t"), { owner: "first" });
      await entered.promise;
      let secondDone = false;
      const second = invokeWithClaim(graph, { log: ["second"] }, thread("t"), {
        owner: "second",
        multitaskStrategy: "enqueue",
      }).then(() => (secondDone = true));
      await new Promise((r) => setTimeout(r, 50));
      expect(secondDone).toBe(false);
      release.release();
      await Promise.all([first, second]);
      expect((await graph.getState(thread("t"))).values).toEqual({ count: 2, log: ["first", "second"] });
    });

    it("enqueue gives up with ClaimHeldError after waitMs", async () => {
      const { graph, entered, release } = await busyThread();
      const first = invokeWithClaim(graph, { log: ["first"] }, thread("t"));
      await entered.promise;
      await expect(
        invokeWithClaim(graph, { log: ["second"] }, thread("t"), { multitaskStrategy: "enqueue", waitMs: 30 }),
      ).rejects.toBeInstanceOf(ClaimHeldError);
      release.release();
      await first;
    });

    it("interrupt: the new run takes the thread; the old run's signal aborts and its invoke rejects with FencedError", async () => {
      const { saver, graph, entered, release } = await busyThread();
      let oldSignal: AbortSignal | undefined;
      const first = withThreadClaim(saver, thread("t"), (run) => {
        oldSignal = run.signal;
        return graph.invoke({ log: ["first"] }, run.config);
      }).catch((e: unknown) => e);
      await entered.promise;
      await invokeWithClaim(graph, { log: ["second"] }, thread("t"), { multitaskStrategy: "interrupt" });
      expect(oldSignal?.aborted).toBe(true);
      expect(oldSignal?.reason).toBeInstanceOf(FencedError);
      release.release();
      expect(await first).toBeInstanceOf(FencedError);
      expect((await graph.getState(thread("t"))).values.count).toBe(1);
    });

    it("a run that ignores a live claim is fenced at its first put (no bypass)", async () => {
      const { graph, entered, release } = await busyThread();
      const first = invokeWithClaim(graph, { log: ["first"] }, thread("t"));
      await entered.promise;
      await expect(graph.invoke({ log: ["rogue"] }, { ...thread("t"), durability: "sync" })).rejects.toBeInstanceOf(
        FencedError,
      );
      release.release();
      await first;
      expect((await graph.getState(thread("t"))).values.log).toEqual(["first"]);
    });

    it("a superseded run's putWrites and subgraph put are FENCED by the core: a fenced event, no committed event, no rows", async () => {
      const saver = await fixture.saver();
      const claimKey = new ThreadKeys(saver.keyPrefix, "t").claimKey;
      const root = await saver.put(from("t"), checkpoint({ x: 1 }), meta(0), { x: 1 });
      const zombie = await saver.store.claim({ key: claimKey, owner: "zombie", ttlMs: 60_000 });
      const fresh = await saver.store.claim({ key: claimKey, owner: "fresh", ttlMs: 60_000, steal: true });
      const run = (claim: { epoch: number; owner: string }) => ({
        fenced_epoch: claim.epoch,
        fenced_owner: claim.owner,
      });
      const before = await saver.store.backend.lastSeq();

      const writes = saver.putWrites({ configurable: { ...root.configurable, ...run(zombie) } }, [["x", 2]], "task-z");
      await expect(writes).rejects.toBeInstanceOf(FencedError);
      await expect(writes.catch((e: unknown) => e)).resolves.toMatchObject({
        details: { key: claimKey, heldEpoch: zombie.epoch, currentEpoch: fresh.epoch, reason: "superseded" },
      });
      const sub = saver.put(from("t", undefined, run(zombie), "child"), checkpoint({ y: 1 }), meta(0), { y: 1 });
      await expect(sub).rejects.toBeInstanceOf(FencedError);
      // Without a token the thread is just as closed while a run holds it (no bypass).
      await expect(saver.putWrites(root, [["x", 3]], "task-rogue")).rejects.toMatchObject({
        code: "FENCED",
        details: { reason: "no-epoch" },
      });

      const events = await saver.store.events("langgraph/t/", { fromSeq: before + 1 });
      expect(events.map((e) => [e.key, e.outcome])).toEqual([
        [claimKey, "fenced"],
        [claimKey, "fenced"],
        [claimKey, "fenced"],
      ]);
      expect((await saver.getTuple(root))?.pendingWrites).toEqual([]);
      expect(await saver.getTuple(from("t", undefined, {}, "child"))).toBeUndefined();

      // The run that holds the thread writes as before, and its pending writes commit no record.
      await saver.putWrites({ configurable: { ...root.configurable, ...run(fresh) } }, [["x", 4]], "task-f");
      expect((await saver.getTuple(root))?.pendingWrites).toEqual([["task-f", "x", 4]]);
      expect((await saver.store.events("langgraph/t/", { fromSeq: before + 1 })).map((e) => e.outcome)).not.toContain(
        "committed",
      );
    });

    it("releases the thread when the run ends, also when it fails", async () => {
      const saver = await fixture.saver();
      const failing = new StateGraph(Annotation.Root({ x: Annotation<number>() }))
        .addNode("fail", () => {
          throw new Error("node failed");
        })
        .addEdge(START, "fail")
        .addEdge("fail", END)
        .compile({ checkpointer: saver });
      await expect(invokeWithClaim(failing, { x: 1 }, thread("t"))).rejects.toThrow("node failed");
      expect(await saver.store.currentClaim("langgraph/t/head/~")).toBeNull();
    });
  });

  describe(`a rejected invoke says what of it landed on ${fixture.name} (13.5)`, () => {
    afterEach(() => fixture.cleanup());

    /** "slow" lands its input checkpoint, stalls in its node, and meanwhile another run builds on that checkpoint. */
    async function overtaken(
      durability: "sync" | "async" | "exit",
      run = (graph: ReturnType<typeof counterGraph>) => graph.invoke({ log: ["slow"] }, { ...thread("t"), durability }),
    ) {
      const entered = latch();
      const release = latch();
      const graph = counterGraph(await fixture.saver(), async (label) => {
        if (label !== "slow") return;
        entered.release();
        await release.promise;
      });
      await graph.invoke({ log: ["before"] }, thread("t"));
      const before = (await graph.getState(thread("t"))).config.configurable?.checkpoint_id as string;
      const slow = run(graph).catch((e: unknown) => e);
      await entered.promise;
      // Before its node runs, a run lands its input checkpoint and the checkpoint after START (unless "exit").
      const landed =
        durability === "exit"
          ? []
          : await vi.waitFor(async () => {
              const ids: string[] = [];
              for await (const s of graph.getStateHistory(thread("t")))
                ids.unshift(s.config.configurable?.checkpoint_id as string);
              const since = ids.slice(ids.indexOf(before) + 1);
              expect(since).toHaveLength(2);
              return since;
            });
      await graph.invoke({ log: ["other"] }, thread("t"));
      release.release();
      return { err: (await slow) as VersionConflictError, landed, graph };
    }

    for (const durability of ["sync", "async"] as const) {
      it(`durability ${durability}: the conflict lists the checkpoints that landed, is partial and not retryable`, async () => {
        const { err, landed } = await overtaken(durability);
        expect(err).toBeInstanceOf(VersionConflictError);
        expect(err.details.landed).toEqual(landed);
        expect(err.details.partial).toBe(true);
        expect(err.retryable).toBe(false);
        expect(err.toJSON().error.retryable).toBe(false);
        expect(errorFromJSON(JSON.parse(JSON.stringify(err))).retryable).toBe(false); // also across the wire
        expect(err.message).toMatch(/would apply it twice/);
      });

      it(`durability ${durability}: invokeWithRetry does not re-run a partly applied input and passes the same details on`, async () => {
        const { err, landed, graph } = await overtaken(durability, (g) =>
          invokeWithRetry(g, { log: ["slow"] }, thread("t"), { durability }),
        );
        expect(err).toBeInstanceOf(VersionConflictError);
        expect(err.details).toMatchObject({ landed, partial: true });
        expect(err.retryable).toBe(false);
        expect((await graph.getState(thread("t"))).values.log).toEqual(["before", "slow", "other"]); // "slow" once
      });
    }

    it("durability exit: a rejected run landed nothing, says so, and is a clean retry", async () => {
      const { err } = await overtaken("exit");
      expect(err).toBeInstanceOf(VersionConflictError);
      expect(err.details).toMatchObject({ landed: [], partial: false });
      expect(err.retryable).toBe(true);
    });
  });

  describe(`invokeWithRetry on ${fixture.name}`, () => {
    afterEach(() => fixture.cleanup());

    it("lets many concurrent invokes on one thread all count", async () => {
      const graph = counterGraph(await fixture.saver());
      await Promise.all(Array.from({ length: 6 }, (_, i) => invokeWithRetry(graph, { log: [`r${i}`] }, thread("t"))));
      const state = (await graph.getState(thread("t"))).values;
      expect(state.count).toBe(6);
      expect(state.log).toHaveLength(6);
    });

    it("with a durability other than 'exit', re-runs only attempts that landed nothing (a partial one would apply twice)", async () => {
      const saver = await fixture.saver();
      const entered = latch();
      const release = latch();
      const graph = counterGraph(saver, async (label) => {
        if (label !== "slow") return;
        entered.release();
        await release.promise;
      });
      // "slow" lands its input checkpoint, stalls, and meanwhile another run builds on that checkpoint.
      const slow = invokeWithRetry(graph, { log: ["slow"] }, thread("t"), { durability: "async" }).catch(
        (e: unknown) => e,
      );
      await entered.promise;
      // Wait for its last background checkpoint (next: the stalled node), not just its input: "other" must build on it.
      await vi.waitFor(async () => expect((await graph.getState(thread("t"))).next).toEqual(["increment"]));
      await graph.invoke({ log: ["other"] }, thread("t"));
      release.release();
      expect(await slow).toBeInstanceOf(VersionConflictError);
      expect((await graph.getState(thread("t"))).values.log).toEqual(["slow", "other"]); // "slow" once, not twice
    });

    it("retries graphs with subgraphs", async () => {
      const State = Annotation.Root({ count: Annotation<number>() });
      const inner = new StateGraph(State)
        .addNode("increment", (s) => ({ count: (s.count ?? 0) + 1 }))
        .addEdge(START, "increment")
        .addEdge("increment", END)
        .compile();
      const graph = new StateGraph(State)
        .addNode("inner", inner)
        .addEdge(START, "inner")
        .addEdge("inner", END)
        .compile({ checkpointer: gateLatestReads(await fixture.saver(), barrier(3)) });
      await Promise.all([1, 2, 3].map(() => invokeWithRetry(graph, {}, thread("t"))));
      expect((await graph.getState(thread("t"))).values.count).toBe(3);
    });

    it("refuses a config that names a checkpoint (that is a fork, not a retry)", async () => {
      const graph = counterGraph(await fixture.saver());
      await expect(
        invokeWithRetry(graph, { log: ["x"] }, { configurable: { thread_id: "t", checkpoint_id: "c" } }),
      ).rejects.toBeInstanceOf(InvalidInputError);
    });

    it("needs a graph compiled with a FencedCheckpointSaver", async () => {
      const graph = counterGraph(await fixture.saver());
      (graph as { checkpointer?: unknown }).checkpointer = undefined;
      await expect(invokeWithRetry(graph, { log: ["x"] }, thread("t"))).rejects.toBeInstanceOf(InvalidInputError);
    });
  });
}

describe("the durability pitfall (documented in docs/langgraph.md)", () => {
  const State = Annotation.Root({ log: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }) });

  /** Two runs that read the same head of a three-node graph; returns the loser's error and the nodes each ran. */
  async function race(durability: "async" | "sync" | "exit") {
    const saver = gateLatestReads(await FencedCheckpointSaver.open({ memory: true }), barrier(2));
    const ran: string[] = [];
    const node = (name: string) => async (s: typeof State.State) => {
      ran.push(`${s.log[0]}:${name}`);
      await new Promise((r) => setTimeout(r, 2));
      return { log: [name] };
    };
    const graph = new StateGraph(State)
      .addNode("a", node("a"))
      .addNode("b", node("b"))
      .addNode("c", node("c"))
      .addEdge(START, "a")
      .addEdge("a", "b")
      .addEdge("b", "c")
      .addEdge("c", END)
      .compile({ checkpointer: saver });
    const config = { configurable: { thread_id: "t" }, durability };
    const outcomes = await Promise.allSettled([
      graph.invoke({ log: ["A"] }, config),
      graph.invoke({ log: ["B"] }, config),
    ]);
    const lost = outcomes.findIndex((o) => o.status === "rejected");
    const loser = lost === 0 ? "A" : "B";
    return {
      error: (outcomes[lost] as PromiseRejectedResult).reason,
      loserRan: ran.filter((r) => r.startsWith(`${loser}:`)),
    };
  }

  it("with durability 'async' (LangGraph's default) the rejected run's nodes keep running; the error comes at the end", async () => {
    const { error, loserRan } = await race("async");
    expect(error).toBeInstanceOf(VersionConflictError);
    expect(loserRan).toHaveLength(3);
  });

  it("with durability 'sync' the rejected run stops at its rejected put, before running a node", async () => {
    const { error, loserRan } = await race("sync");
    expect(error).toBeInstanceOf(VersionConflictError);
    expect(loserRan).toHaveLength(0);
  });
});
