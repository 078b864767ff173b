/**
 * A thread's lifecycle on every backend (docs/lifecycle.md): prune, copyThread and deleteForRuns with Python's
 * semantics (libs/checkpoint-conformance: test_prune, test_copy_thread, test_delete_for_runs), then the same on a real
 * graph, then the races: each is a commit on the thread's heads, fenced like a put (G7, docs/design.md §10).
 */
import type { RunnableConfig } from "@langchain/core/runnables";
import type { CheckpointTuple } from "@langchain/langgraph-checkpoint";
import { afterEach, describe, expect, it } from "vitest";
import { FencedError, InvalidInputError, VersionConflictError } from "../../src/index.js";
import { FencedCheckpointSaver, forkConfig } from "../../src/langgraph/index.js";
import { checkpoint, from, meta, saverFixtures } from "./fixtures/checkpoints.js";

async function all(saver: FencedCheckpointSaver, config: RunnableConfig): Promise<CheckpointTuple[]> {
  const out: CheckpointTuple[] = [];
  for await (const t of saver.list(config)) out.push(t);
  return out;
}

/** The next checkpoint a run puts on `head`: every channel carried over, `step` written anew. */
function next(head: CheckpointTuple, step: number) {
  const cp = checkpoint({ ...head.checkpoint.channel_values, step });
  cp.channel_versions = { ...head.checkpoint.channel_versions, step: 100 + step };
  return [head.config, cp, meta(step), { step: 100 + step }] as const;
}

const ids = async (saver: FencedCheckpointSaver, config: RunnableConfig) =>
  (await all(saver, config)).map((t) => t.checkpoint.id);

/** `n` checkpoints on `thread` (namespace `ns`), each a child of the last, carrying `run_id` when given; returns their configs. */
async function chain(
  saver: FencedCheckpointSaver,
  thread: string,
  n: number,
  options: { ns?: string; runIds?: string[]; start?: number } = {},
) {
  const configs: RunnableConfig[] = [];
  let parent: string | undefined;
  for (let i = 0; i < n; i++) {
    const step = (options.start ?? 0) + i;
    const metadata = { ...meta(step), ...(options.runIds?.[i] !== undefined && { run_id: options.runIds[i] }) };
    // Every checkpoint holds every channel so far; each writes `step` and its own `c<step>`, and inherits the rest.
    const cp = checkpoint({ step });
    for (let j = options.start ?? 0; j <= step; j++) {
      cp.channel_values[`c${j}`] = `v${j}`;
      cp.channel_versions[`c${j}`] = j + 1;
    }
    cp.channel_versions.step = step + 1;
    const c = await saver.put(from(thread, parent, {}, options.ns ?? ""), cp, metadata, {
      step: step + 1,
      [`c${step}`]: step + 1,
    });
    configs.push(c);
    parent = c.configurable!.checkpoint_id as string;
  }
  return configs;
}

for (const fixture of saverFixtures()) {
  describe(`thread lifecycle on ${fixture.name}`, () => {
    afterEach(() => fixture.cleanup());

    describe("prune (Python's test_prune)", () => {
      it("keep_latest keeps only the head, which still has every value it inherited", async () => {
        const saver = await fixture.saver();
        const configs = await chain(saver, "t", 4);
        expect(await saver.prune(["t"])).toEqual({ threads: 1, checkpoints: 3 });
        expect(await ids(saver, from("t"))).toEqual([configs[3]!.configurable!.checkpoint_id]);
        const head = await saver.getTuple(from("t"));
        expect(head?.checkpoint.channel_values).toEqual({ step: 3, c0: "v0", c1: "v1", c2: "v2", c3: "v3" });
      });

      it("keep_latest keeps each thread's and each namespace's head, and the head's pending writes", async () => {
        const saver = await fixture.saver();
        const root = await chain(saver, "t", 3);
        const child = await chain(saver, "t", 2, { ns: "child:1" });
        const other = await chain(saver, "u", 2);
        await saver.putWrites(root[2]!, [["ch", "val"]], "task-1");
        expect(await saver.prune(["t", "u"], { strategy: "keep_latest" })).toEqual({ threads: 2, checkpoints: 4 });
        expect(await ids(saver, from("t"))).toEqual([root[2]!.configurable!.checkpoint_id]);
        expect(await ids(saver, from("t", undefined, {}, "child:1"))).toEqual([child[1]!.configurable!.checkpoint_id]);
        expect(await ids(saver, from("u"))).toEqual([other[1]!.configurable!.checkpoint_id]);
        expect((await saver.getTuple(from("t")))?.pendingWrites).toEqual([["task-1", "ch", "val"]]);
      });

      it("delete removes the thread; other threads, empty lists and unknown threads are untouched", async () => {
        const saver = await fixture.saver();
        await chain(saver, "t", 3);
        const kept = await chain(saver, "u", 2);
        expect(await saver.prune([], { strategy: "delete" })).toEqual({ threads: 0, checkpoints: 0 });
        expect(await saver.prune(["nobody"])).toEqual({ threads: 0, checkpoints: 0 });
        expect(await saver.prune(["t"], { strategy: "delete" })).toEqual({ threads: 1, checkpoints: 3 });
        expect(await ids(saver, from("t"))).toEqual([]);
        expect(await saver.getTuple(from("t"))).toBeUndefined();
        expect(await ids(saver, from("u"))).toEqual(kept.map((c) => c.configurable!.checkpoint_id).reverse());
        // A deleted thread starts again from nothing.
        await chain(saver, "t", 1);
        expect(await ids(saver, from("t"))).toHaveLength(1);
      });

      it("a pruned thread runs on: a child of the head lands and inherits the head's values", async () => {
        const saver = await fixture.saver();
        const configs = await chain(saver, "t", 3);
        await saver.prune(["t"]);
        const landed = await saver.put(...next((await saver.getTuple(configs[2]!))!, 9));
        const head = await saver.getTuple(landed);
        expect(head?.checkpoint.channel_values).toEqual({ step: 9, c0: "v0", c1: "v1", c2: "v2" });
        await saver.prune(["t"]);
        expect((await saver.getTuple(from("t")))?.checkpoint.channel_values).toEqual({
          step: 9,
          c0: "v0",
          c1: "v1",
          c2: "v2",
        });
      });

      it("a fork from a checkpoint the prune deleted is a typed conflict, never a head missing values (G7)", async () => {
        const saver = await fixture.saver();
        const configs = await chain(saver, "t", 3);
        // Another process read the old checkpoint before the prune: it knows its values' refs, and forks from it after.
        const other = new FencedCheckpointSaver(await fixture.openTwin(saver.store));
        const old = (await other.getTuple(configs[0]!))!;
        await saver.prune(["t"]);
        const [, cp, ,] = next(old, 5);
        cp.channel_values = { ...old.checkpoint.channel_values, extra: "x" };
        cp.channel_versions = { ...old.checkpoint.channel_versions, extra: 1 };
        const err = await other.put(forkConfig(old.config), cp, meta(1, "fork"), { extra: 1 }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(VersionConflictError);
        expect((await saver.getTuple(from("t")))?.checkpoint.id).toBe(configs[2]!.configurable!.checkpoint_id);
      });

      for (const size of ["small", "big"] as const) {
        it(`a put reusing a pruned id whose values later checkpoints share is INVALID_INPUT and changes nothing (${size} value)`, async () => {
          // The pruned checkpoint's own values stay under its id for the head that inherits them; a new checkpoint
          // under that id would mix its values with them (the memory backend handed the head the new value, SQLite
          // and PostgreSQL failed with UNAVAILABLE on a big one). Every backend now refuses the id while they are kept.
          const saver = await fixture.saver();
          const configs = await chain(saver, "t", 3);
          await saver.prune(["t"]);
          const head = (await saver.getTuple(from("t")))!;
          const [config, cp, metadata] = next(head, 7);
          cp.id = configs[0]!.configurable!.checkpoint_id as string;
          cp.channel_values.c0 = size === "big" ? "y".repeat(5000) : "y";
          cp.channel_versions.c0 = 50;
          const err = await saver.put(config, cp, metadata, { step: 107, c0: 50 }).catch((e: unknown) => e);
          expect(err).toBeInstanceOf(InvalidInputError);
          expect((err as InvalidInputError).message).toMatch(/not reused/);
          const after = await saver.getTuple(from("t"));
          expect(after?.checkpoint.id).toBe(head.checkpoint.id);
          expect(after?.checkpoint.channel_values).toEqual({ step: 2, c0: "v0", c1: "v1", c2: "v2" });
          expect(await ids(saver, from("t"))).toEqual([head.checkpoint.id]);
          // The thread runs on under a fresh id.
          const [, fresh] = next(head, 7);
          await saver.put(config, fresh, metadata, { step: 107 });
          expect((await saver.getTuple(from("t")))?.checkpoint.channel_values).toMatchObject({ step: 7, c0: "v0" });
        });
      }

      it("a pruned id that nothing keeps can be put again, the same on every backend", async () => {
        const saver = await fixture.saver();
        const first = checkpoint({ a: 1 });
        const c0 = await saver.put(from("t"), first, meta(0), { a: 1 });
        const c1 = await saver.put(c0, checkpoint({ a: 2 }, 2), meta(1), { a: 2 });
        await saver.prune(["t"]);
        const again = { ...checkpoint({ a: 3 }, 3), id: first.id };
        await saver.put(c1, again, meta(2), { a: 3 });
        const latest = await saver.getTuple(from("t"));
        expect(latest?.checkpoint.id).toBe(first.id);
        expect(latest?.checkpoint.channel_values).toEqual({ a: 3 });
        expect((await saver.getTuple(c1))?.checkpoint.channel_values).toEqual({ a: 2 });
      });

      it("bad input is INVALID_INPUT and changes nothing", async () => {
        const saver = await fixture.saver();
        await chain(saver, "t", 2);
        await expect(saver.prune("t" as unknown as string[])).rejects.toBeInstanceOf(InvalidInputError);
        await expect(saver.prune(["t"], { strategy: "all" as "delete" })).rejects.toBeInstanceOf(InvalidInputError);
        await expect(saver.deleteForRuns([""])).rejects.toBeInstanceOf(InvalidInputError);
        expect(await ids(saver, from("t"))).toHaveLength(2);
      });
    });

    describe("copyThread (Python's test_copy_thread)", () => {
      it("copies every checkpoint, namespace, value, metadata and pending write, in order; the source is unchanged", async () => {
        const saver = await fixture.saver();
        const root = await chain(saver, "src", 3);
        await chain(saver, "src", 1, { ns: "child:1" });
        await saver.putWrites(root[2]!, [["ch", "write_val"]], "task-1");
        const before = await all(saver, from("src"));
        expect(await saver.copyThread("src", "dst")).toEqual({ threads: 1, checkpoints: 4 });
        const copied = await all(saver, from("dst"));
        expect(copied.map((t) => t.checkpoint.id)).toEqual(before.map((t) => t.checkpoint.id));
        expect(copied.map((t) => t.checkpoint.channel_values)).toEqual(before.map((t) => t.checkpoint.channel_values));
        expect(copied.map((t) => t.metadata)).toEqual(before.map((t) => t.metadata));
        expect(await ids(saver, from("dst", undefined, {}, "child:1"))).toHaveLength(1);
        expect((await saver.getTuple(from("dst")))?.pendingWrites).toEqual([["task-1", "ch", "write_val"]]);
        expect(await ids(saver, from("src"))).toEqual(before.map((t) => t.checkpoint.id));
      });

      it("the copy runs on from its head, apart from the source", async () => {
        const saver = await fixture.saver();
        const root = await chain(saver, "src", 2);
        await saver.copyThread("src", "dst");
        const head = (await saver.getTuple(from("dst")))!;
        await saver.put(...next(head, 7));
        expect((await saver.getTuple(from("dst")))?.checkpoint.channel_values).toEqual({ step: 7, c0: "v0", c1: "v1" });
        expect((await saver.getTuple(from("src")))?.checkpoint.id).toBe(root[1]!.configurable!.checkpoint_id);
      });

      it("a copy of a pruned thread keeps the values the head inherited", async () => {
        const saver = await fixture.saver();
        await chain(saver, "src", 3);
        await saver.prune(["src"]);
        await saver.copyThread("src", "dst");
        expect((await saver.getTuple(from("dst")))?.checkpoint.channel_values).toEqual({
          step: 2,
          c0: "v0",
          c1: "v1",
          c2: "v2",
        });
      });

      it("an unknown source copies nothing; a target with checkpoints, or the source itself, is INVALID_INPUT", async () => {
        const saver = await fixture.saver();
        expect(await saver.copyThread("nobody", "dst")).toEqual({ threads: 0, checkpoints: 0 });
        expect(await ids(saver, from("dst"))).toEqual([]);
        await chain(saver, "src", 1);
        await chain(saver, "dst", 1);
        await expect(saver.copyThread("src", "dst")).rejects.toBeInstanceOf(InvalidInputError);
        await expect(saver.copyThread("src", "src")).rejects.toBeInstanceOf(InvalidInputError);
        expect(await ids(saver, from("dst"))).toHaveLength(1);
      });
    });

    describe("deleteForRuns (Python's test_delete_for_runs)", () => {
      it("deletes the runs' checkpoints and writes in every namespace and keeps the others", async () => {
        const saver = await fixture.saver();
        const configs = await chain(saver, "t", 3, { runIds: ["r1", "r2", "r3"] });
        await chain(saver, "t", 1, { ns: "child:1", runIds: ["r1"] });
        await saver.putWrites(configs[0]!, [["ch", "val"]], "task-1");
        expect(await saver.deleteForRuns([])).toEqual({ threads: 0, checkpoints: 0 });
        expect(await saver.deleteForRuns(["nobody"])).toEqual({ threads: 0, checkpoints: 0 });
        expect(await saver.deleteForRuns(["r1", "r2"])).toEqual({ threads: 1, checkpoints: 3 });
        const left = await all(saver, from("t"));
        expect(left.map((t) => (t.metadata as Record<string, unknown> | undefined)?.run_id)).toEqual(["r3"]);
        expect(await saver.getTuple(configs[0]!)).toBeUndefined();
        expect(await ids(saver, from("t", undefined, {}, "child:1"))).toEqual([]);
        // r3's checkpoint still has the values r1 and r2 wrote.
        expect(left[0]!.checkpoint.channel_values).toEqual({ step: 2, c0: "v0", c1: "v1", c2: "v2" });
      });

      it("a deleted head moves back to the nearest ancestor that stays, and the thread runs on from it", async () => {
        const saver = await fixture.saver();
        const configs = await chain(saver, "t", 3, { runIds: ["r1", "r2", "r2"] });
        await saver.deleteForRuns(["r2"]);
        const head = (await saver.getTuple(from("t")))!;
        expect(head.checkpoint.id).toBe(configs[0]!.configurable!.checkpoint_id);
        await saver.put(...next(head, 5));
        expect((await saver.getTuple(from("t")))?.checkpoint.channel_values).toEqual({ step: 5, c0: "v0" });
        await saver.deleteForRuns(["r1"]);
        expect((await all(saver, from("t"))).map((t) => t.checkpoint.channel_values)).toEqual([{ step: 5, c0: "v0" }]);
      });

      it("a head move is fenced: FencedError while a run holds the thread, nothing deleted", async () => {
        const saver = await fixture.saver();
        await chain(saver, "t", 2, { runIds: ["r1", "r2"] });
        await saver.store.claim({ key: `${saver.keyPrefix}/t/head/~`, owner: "running", ttlMs: 60_000 });
        await expect(saver.deleteForRuns(["r2"])).rejects.toBeInstanceOf(FencedError);
        expect(await ids(saver, from("t"))).toHaveLength(2);
      });
    });
  });
}
