/**
 * The four ways LangGraph loses data (docs/design.md §1), each with the real @langchain/langgraph: the official saver loses the
 * update (asserted, so this suite notices if LangGraph changes), FencedCheckpointSaver raises the typed error at the
 * invoke caller, and the retry helper (or, for branches, a merge function) ends with the right state.
 */
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { Annotation, END, MemorySaver, START, StateGraph } from "@langchain/langgraph";
import { SqliteSaver } from "@langchain/langgraph-checkpoint-sqlite";
import { afterEach, describe, expect, it, vi } from "vitest";
import { FencedError, VersionConflictError } from "../../src/index.js";
import {
  FencedCheckpointSaver,
  edit,
  fencedMapAnnotation,
  invokeWithClaim,
  invokeWithRetry,
  valuesOf,
} from "../../src/langgraph/index.js";
import { tempDir } from "../support/backends.js";
import { barrier, counterGraph, gateLatestReads, latch } from "./fixtures/counter.js";
import { saverFixtures } from "./fixtures/checkpoints.js";

const thread = (id: string) => ({ configurable: { thread_id: id } });

for (const fixture of saverFixtures()) {
  describe(`lost updates, FencedCheckpointSaver on ${fixture.name}`, () => {
    afterEach(() => fixture.cleanup());

    it("(a) two concurrent invokes on one thread: the loser gets VersionConflictError; invokeWithRetry counts both (G7)", async () => {
      const official = counterGraph(gateLatestReads(new MemorySaver(), barrier(2)));
      await Promise.all([official.invoke({ log: ["A"] }, thread("a")), official.invoke({ log: ["B"] }, thread("a"))]);
      expect((await official.getState(thread("a"))).values.count).toBe(1); // MemorySaver: one increment lost, no error

      const fenced = counterGraph(gateLatestReads(await fixture.saver(), barrier(2)));
      const outcomes = await Promise.allSettled([
        fenced.invoke({ log: ["A"] }, thread("a")),
        fenced.invoke({ log: ["B"] }, thread("a")),
      ]);
      const rejected = outcomes.filter((o): o is PromiseRejectedResult => o.status === "rejected");
      expect(rejected).toHaveLength(1);
      expect(rejected[0]!.reason).toBeInstanceOf(VersionConflictError);
      const state = (await fenced.getState(thread("a"))).values;
      expect(state.count).toBe(1); // exactly the winner's run landed, and the loser knows
      expect(state.log).toHaveLength(1);

      const retried = counterGraph(gateLatestReads(await fixture.saver(), barrier(2)));
      await Promise.all([
        invokeWithRetry(retried, { log: ["A"] }, thread("a")),
        invokeWithRetry(retried, { log: ["B"] }, thread("a")),
      ]);
      const final = (await retried.getState(thread("a"))).values;
      expect(final.count).toBe(2);
      expect([...final.log].sort()).toEqual(["A", "B"]);
    });

    it("(c) a zombie run that finishes late: rejected instead of rolling the thread back; retried from the new head (G7)", async () => {
      /** `inputLands`: the zombie's input checkpoint lands before it stalls (any durability but "exit"). */
      const run = async (
        saver: MemorySaver | FencedCheckpointSaver,
        zombie: (g: ReturnType<typeof counterGraph>) => Promise<unknown>,
        inputLands = true,
      ) => {
        const stalled = latch();
        const entered = latch();
        const graph = counterGraph(saver, async (label) => {
          if (label !== "zombie") return;
          entered.release();
          await stalled.promise;
        });
        await graph.invoke({ log: ["first"] }, thread("z"));
        const z = zombie(graph).then(
          () => undefined,
          (e: unknown) => e,
        );
        await entered.promise; // the zombie is inside its node, holding a stale view of the thread
        // Its checkpoints up to the stalled node land in the background (durability "async"): wait for the last one, the
        // one whose next task is the stalled node, so the fresh run starts from what the zombie left.
        if (inputLands) {
          await vi.waitFor(async () => {
            const state = await graph.getState(thread("z"));
            expect(state.values.log).toContain("zombie");
            expect(state.next).toEqual(["increment"]);
          });
        }
        await graph.invoke({ log: ["fresh"] }, thread("z"));
        const afterFresh = await graph.getState(thread("z"));
        stalled.release();
        const error = await z;
        return { error, afterFresh, final: await graph.getState(thread("z")) };
      };

      const official = await run(new MemorySaver(), (g) => g.invoke({ log: ["zombie"] }, thread("z")));
      expect(official.error).toBeUndefined();
      expect(official.final.metadata?.step).toBeLessThan(official.afterFresh.metadata!.step); // the head went back
      expect(official.final.values.log).not.toContain("fresh"); // and the fresh run's work is gone

      const fenced = await run(await fixture.saver(), (g) => g.invoke({ log: ["zombie"] }, thread("z")));
      expect(fenced.error).toBeInstanceOf(VersionConflictError);
      expect(fenced.final.metadata?.step).toBe(fenced.afterFresh.metadata?.step);
      expect(fenced.final.values).toEqual(fenced.afterFresh.values);

      const retried = await run(
        await fixture.saver(),
        (g) => invokeWithRetry(g, { log: ["zombie"] }, thread("z")),
        false,
      );
      expect(retried.error).toBeUndefined();
      expect(retried.final.values.count).toBe(3);
      expect(retried.final.values.log).toEqual(["first", "fresh", "zombie"]);
    });

    it("(c) with run claims: an interrupting run takes the thread and the zombie is FencedError at the invoke caller (G2)", async () => {
      const saver = await fixture.saver();
      const stalled = latch();
      const entered = latch();
      const graph = counterGraph(saver, async (label) => {
        if (label !== "zombie") return;
        entered.release();
        await stalled.promise;
      });
      const z = invokeWithClaim(graph, { log: ["zombie"] }, thread("c"), { owner: "zombie" }).then(
        () => undefined,
        (e: unknown) => e,
      );
      await entered.promise;
      // As in (c) above: wait for the zombie's last background checkpoint, the one whose next task is its stalled node.
      await vi.waitFor(async () => {
        const state = await graph.getState(thread("c"));
        expect(state.values.log).toContain("zombie");
        expect(state.next).toEqual(["increment"]);
      });
      await invokeWithClaim(graph, { log: ["fresh"] }, thread("c"), { owner: "fresh", multitaskStrategy: "interrupt" });
      stalled.release();
      expect(await z).toBeInstanceOf(FencedError);
      const state = await graph.getState(thread("c"));
      expect(state.values.log).toEqual(["zombie", "fresh"]); // the zombie's input landed before it stalled; its node's write did not
      expect(state.values.count).toBe(1);
    });
  });
}

describe("lost updates across OS processes", () => {
  const dirs: { remove(): void }[] = [];
  afterEach(() =>
    dirs.splice(0).forEach((d) => {
      d.remove();
    }),
  );

  /** Runs two processes that each invoke once on one SQLite file; returns their reports. */
  async function twoProcesses(kind: string, dir: string, db: string) {
    const barrierDir = join(dir, `barrier-${kind}`);
    mkdirSync(barrierDir);
    const script = join(import.meta.dirname, "fixtures", "counter-process.ts");
    const one = (label: string) =>
      new Promise<{ label: string; ok: boolean; code?: string; versionConflict?: boolean }>((resolve, reject) => {
        const child = spawn(process.execPath, ["--import", "tsx", script, kind, db, barrierDir, label, "2"], {
          stdio: ["ignore", "pipe", "pipe"],
        });
        let out = "";
        let err = "";
        child.stdout.on("data", (d: Buffer) => (out += d));
        child.stderr.on("data", (d: Buffer) => (err += d));
        const timer = setTimeout(() => child.kill("SIGKILL"), 45_000);
        child.on("close", (code) => {
          clearTimeout(timer);
          if (code !== 0) return reject(new Error(`${label} exited ${code}: ${err}`));
          resolve(JSON.parse(out.trim().split("\n").pop()!));
        });
      });
    return Promise.all([one("P1"), one("P2")]);
  }

  it("(b) two processes on one SQLite file: SqliteSaver loses one; ours rejects one; invokeWithRetry counts both (G7)", async () => {
    const tmp = tempDir();
    dirs.push(tmp);
    const files = {
      official: join(tmp.dir, "official.db"),
      fenced: join(tmp.dir, "fenced.db"),
      retry: join(tmp.dir, "retry.db"),
    };
    const [official, fenced, retried] = await Promise.all([
      twoProcesses("official", tmp.dir, files.official),
      twoProcesses("fenced", tmp.dir, files.fenced),
      twoProcesses("fenced-retry", tmp.dir, files.retry),
    ]);

    expect(official.every((r) => r.ok)).toBe(true); // no error anywhere…
    const officialSaver = SqliteSaver.fromConnString(files.official);
    expect((await officialSaver.getTuple(thread("shared-thread")))?.checkpoint.channel_values.count).toBe(1); // …and one increment lost

    expect(fenced.filter((r) => r.ok)).toHaveLength(1);
    expect(fenced.filter((r) => !r.ok)).toEqual([
      expect.objectContaining({ code: "VERSION_CONFLICT", versionConflict: true }),
    ]);
    const fencedSaver = await FencedCheckpointSaver.open({ path: files.fenced });
    expect((await fencedSaver.getTuple(thread("shared-thread")))?.checkpoint.channel_values.count).toBe(1);
    await fencedSaver.store.close();

    expect(retried.every((r) => r.ok)).toBe(true);
    const retriedSaver = await FencedCheckpointSaver.open({ path: files.retry });
    const final = (await retriedSaver.getTuple(thread("shared-thread")))?.checkpoint.channel_values;
    expect(final?.count).toBe(2);
    expect([...(final!.log as string[])].sort()).toEqual(["P1", "P2"]);
    await retriedSaver.store.close();
  });
});

describe("(d) two parallel branches writing one field", () => {
  type Doc = { k: string; tags: string[]; notes: { [who: string]: string } };

  it("a merge reducer silently drops one branch's value (LangGraph today)", async () => {
    const State = Annotation.Root({
      dict: Annotation<Record<string, string>>({ reducer: (a, b) => ({ ...a, ...b }), default: () => ({}) }),
    });
    const graph = new StateGraph(State)
      .addNode("left", () => ({ dict: { k: "from left" } }))
      .addNode("right", () => ({ dict: { k: "from right" } }))
      .addEdge(START, "left")
      .addEdge(START, "right")
      .addEdge("left", END)
      .addEdge("right", END)
      .compile({ checkpointer: new MemorySaver() });
    const out = await graph.invoke({ dict: {} }, thread("d1"));
    expect(Object.values(out.dict)).toHaveLength(1); // one of the two writes is gone, with no error
  });

  it("a fenced map raises VersionConflictError naming both tasks at the invoke caller (G1, G6)", async () => {
    const State = Annotation.Root({ doc: fencedMapAnnotation<Doc>() });
    const graph = new StateGraph(State)
      .addNode("left", (s) => ({ doc: edit(s.doc).set("k", "from left") }))
      .addNode("right", (s) => ({ doc: edit(s.doc).set("k", "from right") }))
      .addEdge(START, "left")
      .addEdge(START, "right")
      .addEdge("left", END)
      .addEdge("right", END)
      .compile({ checkpointer: new MemorySaver() });
    const err = await graph.invoke({}, thread("d2")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VersionConflictError);
    const tasks = (err as VersionConflictError).details.tasks as string[];
    expect(tasks.map((t) => t.split(":")[0]).sort()).toEqual(["left", "right"]);
    expect((err as Error).message).toMatch(/field "k"/);
  });

  it("ends with both values through a merge function, and commutative ops from both branches all land", async () => {
    const State = Annotation.Root({
      doc: fencedMapAnnotation<Doc>({
        merge: { k: (current, proposed) => `${String(current)} + ${String(proposed)}` },
      }),
    });
    const graph = new StateGraph(State)
      .addNode("left", (s) => ({
        doc: edit(s.doc).set("k", "from left").append("tags", "L").merge("notes", { left: "done" }),
      }))
      .addNode("right", (s) => ({
        doc: edit(s.doc).set("k", "from right").append("tags", "R").merge("notes", { right: "done" }),
      }))
      .addEdge(START, "left")
      .addEdge(START, "right")
      .addEdge("left", END)
      .addEdge("right", END)
      .compile({ checkpointer: new MemorySaver() });
    const out = valuesOf((await graph.invoke({}, thread("d3"))).doc);
    expect(out.k).toBe("from left + from right");
    expect(out.tags).toEqual(["L", "R"]);
    expect(out.notes).toEqual({ left: "done", right: "done" });
  });
});
