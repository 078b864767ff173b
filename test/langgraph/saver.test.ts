/**
 * FencedCheckpointSaver, spoken to through the saver contract, on every backend that keeps checkpoints.
 * G7: one head per (thread, namespace); a put is accepted only as a child of the head or as an explicit fork.
 */
import type { RunnableConfig } from "@langchain/core/runnables";
import { TASKS, type CheckpointMetadata, type CheckpointTuple } from "@langchain/langgraph-checkpoint";
import { afterEach, describe, expect, it } from "vitest";
import { FencedError, InvalidInputError, VersionConflictError } from "../../src/index.js";
import { type FencedCheckpointSaver, forkConfig } from "../../src/langgraph/index.js";
import { checkpoint, from, meta, saverFixtures } from "./fixtures/checkpoints.js";

async function all(saver: FencedCheckpointSaver, config: RunnableConfig, options = {}): Promise<CheckpointTuple[]> {
  const out: CheckpointTuple[] = [];
  for await (const t of saver.list(config, options)) out.push(t);
  return out;
}

for (const fixture of saverFixtures()) {
  describe(`FencedCheckpointSaver on ${fixture.name}`, () => {
    afterEach(() => fixture.cleanup());

    describe("G7 lineage fence", () => {
      it("accepts a chain of children of the head and reads the head as latest", async () => {
        const saver = await fixture.saver();
        const a = checkpoint({ n: 1 });
        const b = checkpoint({ n: 2 }, 2);
        const ca = await saver.put(from("t"), a, meta(0), { n: 1 });
        await saver.put(ca, b, meta(1), { n: 2 });
        const latest = await saver.getTuple(from("t"));
        expect(latest?.checkpoint.id).toBe(b.id);
        expect(latest?.checkpoint.channel_values).toEqual({ n: 2 });
        expect(latest?.parentConfig?.configurable?.checkpoint_id).toBe(a.id);
      });

      it("reads the head as latest even when a child's id sorts below its parent's (imported or clock-skewed ids)", async () => {
        // The official savers take "latest" to be the greatest id; the head is the last accepted put. This is why the
        // head needs storage of its own (bench/put-layouts.ts, "fork-aware minimum").
        const saver = await fixture.saver();
        const parent = { ...checkpoint({ n: 1 }), id: "1ef00000-0000-6000-8000-00000000000b" };
        const child = { ...checkpoint({ n: 2 }, 2), id: "1ef00000-0000-6000-8000-00000000000a" };
        const cp = await saver.put(from("t"), parent, meta(0), { n: 1 });
        await saver.put(cp, child, meta(1), { n: 2 });
        const latest = await saver.getTuple(from("t"));
        expect(latest?.checkpoint.id).toBe(child.id);
        expect(latest?.checkpoint.channel_values).toEqual({ n: 2 });
        // And the head fences: a put onto the greater-id parent is now stale.
        const err = await saver.put(cp, checkpoint({ n: 3 }, 3), meta(1), { n: 3 }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(VersionConflictError);
      });

      it("rejects a put whose parent is no longer the head, changes nothing, and says why", async () => {
        const saver = await fixture.saver();
        const root = checkpoint({ n: 0 });
        const c0 = await saver.put(from("t"), root, meta(0), { n: 1 });
        const winner = checkpoint({ n: 1 }, 2);
        await saver.put(c0, winner, meta(1), { n: 2 });
        const loser = checkpoint({ n: 1 }, 2);
        const err = await saver.put(c0, loser, meta(1), { n: 2 }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(VersionConflictError);
        expect((err as VersionConflictError).details).toMatchObject({
          threadId: "t",
          checkpointNs: "",
          parentCheckpointId: root.id,
          headCheckpointId: winner.id,
        });
        expect((await saver.getTuple(from("t")))?.checkpoint.id).toBe(winner.id);
        expect(await saver.getTuple(from("t", loser.id))).toBeUndefined();
        expect((await all(saver, from("t"))).map((t) => t.checkpoint.id)).toEqual([winner.id, root.id]);
      });

      it("says a concurrent advance happened when the run started from the head", async () => {
        const saver = await fixture.saver();
        const c0 = await saver.put(from("t"), checkpoint({ n: 0 }), meta(0), { n: 1 });
        const started = await saver.getTuple(from("t"));
        await saver.put(c0, checkpoint({ n: 1 }, 2), meta(1), { n: 2 });
        const err = await saver
          .put(started!.config, checkpoint({ n: 1 }, 2), meta(1), { n: 2 })
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(VersionConflictError);
        expect((err as VersionConflictError).message).toMatch(/another run advanced the thread/i);
        expect((err as VersionConflictError).details.reason).toBe("head-moved");
      });

      it("says how to fork when the run started from a checkpoint that was already old (time travel), naming both", async () => {
        const saver = await fixture.saver();
        const c0 = await saver.put(from("t"), checkpoint({ n: 0 }), meta(0), { n: 1 });
        const head = checkpoint({ n: 1 }, 2);
        await saver.put(c0, head, meta(1), { n: 2 });
        const old = await saver.getTuple(c0);
        const err = await saver.put(old!.config, checkpoint({ n: 5 }, 2), meta(1), { n: 2 }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(VersionConflictError);
        const { message, details } = err as VersionConflictError;
        expect(message).not.toMatch(/another run/i);
        expect(message).toContain(c0.configurable!.checkpoint_id);
        expect(message).toContain(head.id);
        expect(message).toContain("forkConfig(config)");
        expect(details).toMatchObject({
          reason: "old-checkpoint",
          parentCheckpointId: c0.configurable!.checkpoint_id,
          headCheckpointId: head.id,
        });
      });

      it("rejects a parentless put onto a thread that has a head (two first runs)", async () => {
        const saver = await fixture.saver();
        await saver.put(from("t"), checkpoint(), meta(-1, "input"), {});
        const second = checkpoint();
        await expect(saver.put(from("t"), second, meta(-1, "input"), {})).rejects.toBeInstanceOf(VersionConflictError);
        expect(await saver.getTuple(from("t", second.id))).toBeUndefined();
      });

      it("rejects a parent that was never in the lineage", async () => {
        const saver = await fixture.saver();
        await saver.put(from("t"), checkpoint(), meta(0), {});
        const err = await saver.put(from("t", "not-a-checkpoint"), checkpoint(), meta(1), {}).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(VersionConflictError);
        expect((err as VersionConflictError).details.parentCheckpointId).toBe("not-a-checkpoint");
      });

      it("never lets the head go back: a zombie's child of an old checkpoint is rejected", async () => {
        const saver = await fixture.saver();
        let config = await saver.put(from("t"), checkpoint(), meta(0), {});
        const zombieParent = config;
        for (let step = 1; step <= 5; step++)
          config = await saver.put(config, checkpoint({ step }, step), meta(step), { step });
        await expect(saver.put(zombieParent, checkpoint({ step: 1 }, 1), meta(1), { step: 1 })).rejects.toBeInstanceOf(
          VersionConflictError,
        );
        expect((await saver.getTuple(from("t")))?.metadata?.step).toBe(5);
      });

      it("keeps namespaces apart: each (thread, checkpoint_ns) has its own head", async () => {
        const saver = await fixture.saver();
        await saver.put(from("t"), checkpoint({ n: 1 }), meta(0), { n: 1 });
        await saver.put(from("t", undefined, {}, "sub:1"), checkpoint({ n: 9 }), meta(0), { n: 1 });
        expect((await saver.getTuple(from("t")))?.checkpoint.channel_values).toEqual({ n: 1 });
        expect((await saver.getTuple(from("t", undefined, {}, "sub:1")))?.checkpoint.channel_values).toEqual({ n: 9 });
      });

      it("with parentlessPut: 'fork', a parentless put becomes the head (compatibility option)", async () => {
        const saver = await fixture.saver({ parentlessPut: "fork" });
        await saver.put(from("t"), checkpoint(), meta(-1, "input"), {});
        const second = checkpoint();
        await saver.put(from("t"), second, meta(-1, "input"), {});
        expect((await saver.getTuple(from("t")))?.checkpoint.id).toBe(second.id);
      });

      it("is idempotent for a put that already landed (a retry after an unknown outcome)", async () => {
        const saver = await fixture.saver();
        const c0 = await saver.put(from("t"), checkpoint(), meta(0), {});
        const c1 = checkpoint({ n: 1 });
        await saver.put(c0, c1, meta(1), { n: 1 });
        await expect(saver.put(c0, c1, meta(1), { n: 1 })).resolves.toEqual(from("t", c1.id));
      });
    });

    describe("explicit forks", () => {
      it("accepts a child of an old checkpoint when the config names it as the fork point, and the fork is the head", async () => {
        const saver = await fixture.saver();
        const c0 = await saver.put(from("t"), checkpoint({ n: 0 }), meta(0), { n: 1 });
        const c1 = await saver.put(c0, checkpoint({ n: 1 }, 2), meta(1), { n: 2 });
        await saver.put(c1, checkpoint({ n: 2 }, 3), meta(2), { n: 3 });
        await expect(saver.put(c0, checkpoint({ n: 10 }, 2), meta(1), { n: 2 })).rejects.toBeInstanceOf(
          VersionConflictError,
        );
        const fork = checkpoint({ n: 10 }, 2);
        const forked = await saver.put(forkConfig(c0), fork, meta(1, "fork"), { n: 2 });
        expect((await saver.getTuple(from("t")))?.checkpoint.id).toBe(fork.id);
        // The flag stays in the run's config but covers only the fork point: other stale parents are still fenced.
        const flag = { fenced_fork_from: c0.configurable!.checkpoint_id };
        await expect(
          saver.put({ configurable: { ...c1.configurable, ...flag } }, checkpoint(), meta(2), {}),
        ).rejects.toBeInstanceOf(VersionConflictError);
        await saver.put({ configurable: { ...forked.configurable, ...flag } }, checkpoint({ n: 11 }, 3), meta(2), {
          n: 3,
        });
      });

      it("keeps each branch's values: a fork's new version of a channel never replaces the other branch's", async () => {
        const saver = await fixture.saver();
        const c0 = await saver.put(from("t"), checkpoint({ n: 0, keep: "k" }), meta(0), { n: 1, keep: 1 });
        const original = await saver.put(c0, checkpoint({ n: 1, keep: "k" }, 2), meta(1), { n: 2 });
        const fork = await saver.put(forkConfig(c0), checkpoint({ n: 100, keep: "k" }, 2), meta(1, "fork"), { n: 2 });
        expect((await saver.getTuple(original))?.checkpoint.channel_values).toEqual({ n: 1, keep: "k" });
        expect((await saver.getTuple(fork))?.checkpoint.channel_values).toEqual({ n: 100, keep: "k" });
      });

      it("forkConfig needs a checkpoint to fork from", () => {
        expect(() => forkConfig({ configurable: { thread_id: "t" } })).toThrow(InvalidInputError);
      });
    });

    describe("storage", () => {
      it("stores only the channels in newVersions and rebuilds the rest from ancestors", async () => {
        const saver = await fixture.saver();
        const c0 = await saver.put(from("t"), checkpoint({ a: "a0", b: "b0" }), meta(0), { a: 1, b: 1 });
        const c1cp = checkpoint({ a: "a1", b: "NOT STORED" });
        c1cp.channel_versions = { a: 2, b: 1 };
        const c1 = await saver.put(c0, c1cp, meta(1), { a: 2 });
        expect((await saver.getTuple(c1))?.checkpoint.channel_values).toEqual({ a: "a1", b: "b0" });
      });

      it("never serves a value cached for a deleted thread, even if the same checkpoint ids come back", async () => {
        const saver = await fixture.saver();
        const write = async (value: string) => {
          const c0 = checkpoint({ kept: value, step: 0 });
          c0.id = "00000000-0000-6000-8000-000000000001";
          const c1 = checkpoint({ kept: value, step: 1 });
          c1.id = "00000000-0000-6000-8000-000000000002";
          c1.channel_versions = { kept: 1, step: 2 };
          const first = await saver.put(from("reuse"), c0, meta(0), { kept: 1, step: 1 });
          return saver.put(first, c1, meta(1), { step: 2 });
        };
        const before = await write("old");
        expect((await saver.getTuple(before))?.checkpoint.channel_values.kept).toBe("old"); // read through a cache
        await saver.deleteThread("reuse");
        const after = await write("new");
        expect((await saver.getTuple(after))?.checkpoint.channel_values.kept).toBe("new");
      });

      it("serves no checkpoint of a deleted thread from a cache: by id, latest and list find nothing", async () => {
        const saver = await fixture.saver();
        const c0 = await saver.put(from("gone"), checkpoint({ a: 1 }), meta(0), { a: 1 });
        const c1 = await saver.put(c0, checkpoint({ a: 2 }, 2), meta(1), { a: 2 });
        // Read every way first, so that whatever a backend caches holds them.
        expect((await saver.getTuple(c0))?.checkpoint.channel_values).toEqual({ a: 1 });
        expect((await saver.getTuple(from("gone")))?.checkpoint.channel_values).toEqual({ a: 2 });
        expect(await all(saver, from("gone"))).toHaveLength(2);
        await saver.deleteThread("gone");
        expect(await saver.getTuple(c0)).toBeUndefined();
        expect(await saver.getTuple(c1)).toBeUndefined();
        expect(await saver.getTuple(from("gone"))).toBeUndefined();
        expect(await all(saver, from("gone"))).toEqual([]);
      });

      it("returns pending writes added after a checkpoint was read: by id, latest and list", async () => {
        const saver = await fixture.saver();
        const c0 = await saver.put(from("w"), checkpoint({ a: 1 }), meta(0), { a: 1 });
        expect((await saver.getTuple(c0))?.pendingWrites).toEqual([]);
        expect((await saver.getTuple(from("w")))?.pendingWrites).toEqual([]);
        expect((await all(saver, from("w")))[0]?.pendingWrites).toEqual([]);
        await saver.putWrites(c0, [["a", 5]], "task-1");
        const expected = [["task-1", "a", 5]];
        expect((await saver.getTuple(c0))?.pendingWrites).toEqual(expected);
        expect((await saver.getTuple(from("w")))?.pendingWrites).toEqual(expected);
        expect((await all(saver, from("w")))[0]?.pendingWrites).toEqual(expected);
      });

      it("G6: inherits a value only while the channel's version is unchanged; a changed one not in newVersions is written", async () => {
        const saver = await fixture.saver();
        const c0 = await saver.put(from("t"), checkpoint({ a: "a0", b: "b0" }), meta(0), { a: 1, b: 1 });
        const c1 = await saver.put(c0, checkpoint({ a: "a1", b: "b0" }, 2), meta(1), { a: 2, b: 2 });
        // LangGraph's "__copy__" puts a copy of c1 under c1's parent with empty newVersions (pregel updateState).
        const copy = { ...(await saver.getTuple(c1))!.checkpoint, id: checkpoint().id };
        const copied = await saver.put(forkConfig(c0), copy, meta(2, "fork"), {});
        expect((await saver.getTuple(copied))?.checkpoint.channel_values).toEqual({ a: "a1", b: "b0" });
      });

      it("G6: returns channel values that have no version, as put (LangGraph's __pregel_tasks = [])", async () => {
        const saver = await fixture.saver();
        const c0cp = checkpoint({ a: 1 });
        c0cp.channel_values[TASKS] = [];
        const c0 = await saver.put(from("t"), c0cp, meta(0), { a: 1 });
        expect((await saver.getTuple(c0))?.checkpoint.channel_values).toEqual({ a: 1, [TASKS]: [] });
        const c1cp = checkpoint({ a: 1, [TASKS]: ["later"] });
        c1cp.channel_versions = { a: 1 };
        const c1 = await saver.put(c0, c1cp, meta(1), {});
        expect((await saver.getTuple(c1))?.checkpoint.channel_values).toEqual({ a: 1, [TASKS]: ["later"] });
      });

      it("G6: a re-put of an identical checkpoint is a no-op (also as its own child); a different one under its id is INVALID_INPUT", async () => {
        const saver = await fixture.saver();
        const c0 = await saver.put(from("t"), checkpoint({ a: 1 }), meta(0), { a: 1 });
        const c1cp = checkpoint({ a: 2 }, 2);
        const c1 = await saver.put(c0, c1cp, meta(1), { a: 2 });
        const head = await saver.store.read("langgraph/t/head/~");
        // @langchain/langgraph < 1.4.19 with durability "exit" re-puts the checkpoint it loaded as its own child.
        const again = { ...c1cp, ts: new Date(Date.now() + 1000).toISOString() };
        await expect(saver.put(c1, again, meta(1), {})).resolves.toEqual(from("t", c1cp.id));
        await expect(saver.put(c0, c1cp, meta(1), { a: 2 })).resolves.toEqual(from("t", c1cp.id));
        await expect(saver.put(c1, { ...c1cp, channel_values: { a: 3 } }, meta(1), { a: 2 })).rejects.toBeInstanceOf(
          InvalidInputError,
        );
        await expect(saver.put(c1, c1cp, { ...meta(1), step: 7 }, {})).rejects.toBeInstanceOf(InvalidInputError);
        expect(await saver.store.read("langgraph/t/head/~")).toEqual(head);
        expect((await saver.getTuple(from("t")))?.checkpoint.channel_values).toEqual({ a: 2 });
        expect((await saver.getTuple(from("t")))?.parentConfig).toEqual(from("t", c0.configurable!.checkpoint_id));
      });

      it("drops a channel that newVersions lists but the checkpoint no longer has", async () => {
        const saver = await fixture.saver();
        const c0 = await saver.put(from("t"), checkpoint({ a: 1, gone: 1 }), meta(0), { a: 1, gone: 1 });
        const c1cp = checkpoint({ a: 1 });
        c1cp.channel_versions = { a: 1, gone: 2 };
        const c1 = await saver.put(c0, c1cp, meta(1), { gone: 2 });
        expect((await saver.getTuple(c1))?.checkpoint.channel_values).toEqual({ a: 1 });
      });

      it("rejects bad input with INVALID_INPUT and writes nothing", async () => {
        const saver = await fixture.saver();
        await expect(saver.put({ configurable: {} }, checkpoint(), meta(0), {})).rejects.toBeInstanceOf(
          InvalidInputError,
        );
        await expect(
          saver.put(from("t", undefined, { fenced_epoch: "7" }), checkpoint(), meta(0), {}),
        ).rejects.toBeInstanceOf(InvalidInputError);
        await expect(saver.putWrites(from("t"), [["a", 1]], "task")).rejects.toBeInstanceOf(InvalidInputError);
        expect(await saver.getTuple(from("t"))).toBeUndefined();
      });
    });

    describe("putWrites", () => {
      it("keeps the first regular write per (task, idx), replaces special writes, and orders by (taskPath, taskId, idx)", async () => {
        const saver = await fixture.saver();
        const c0 = await saver.put(from("t"), checkpoint(), meta(0), {});
        await saver.putWrites(
          c0,
          [
            ["x", "first"],
            ["y", "y0"],
          ],
          "task-b",
          "~path-b",
        );
        await saver.putWrites(c0, [["x", "second"]], "task-b", "~path-b");
        await saver.putWrites(c0, [["__error__", "boom"]], "task-a", "~path-z");
        await saver.putWrites(c0, [["__error__", "boom again"]], "task-a", "~path-z");
        await saver.putWrites(c0, [["z", "input"]], "task-c");
        expect((await saver.getTuple(c0))?.pendingWrites).toEqual([
          ["task-c", "z", "input"],
          ["task-b", "x", "first"],
          ["task-b", "y", "y0"],
          ["task-a", "__error__", "boom again"],
        ]);
      });

      it("orders writes by (taskPath, taskId, idx) in UTF-8 byte order on every read, the first and the cached ones", async () => {
        const saver = await fixture.saver();
        const c0 = await saver.put(from("t"), checkpoint(), meta(0), {});
        // UTF-16 puts the emoji (a surrogate pair, 0xD83D…) before U+FFFD; UTF-8 bytes (F0… vs EF…) put it after.
        // Task ids run against the path order, so an order by id alone fails too.
        await saver.putWrites(c0, [["a", 1]], "task-a", "\u{1F600}");
        await saver.putWrites(c0, [["b", 2]], "task-b", "\uFFFD");
        await saver.putWrites(c0, [["d", 4]], "task-d", "p");
        await saver.putWrites(c0, [["c", 3]], "task-c", "p");
        const expected = [
          ["task-c", "c", 3],
          ["task-d", "d", 4],
          ["task-b", "b", 2],
          ["task-a", "a", 1],
        ];
        for (let read = 0; read < 3; read++) {
          expect((await saver.getTuple(c0))?.pendingWrites).toEqual(expected);
          expect((await saver.getTuple(from("t")))?.pendingWrites).toEqual(expected);
        }
      });

      it("attaches writes to a checkpoint whose put has not landed yet (LangGraph does not chain them)", async () => {
        const saver = await fixture.saver();
        const c0 = await saver.put(from("t"), checkpoint(), meta(0), {});
        const next = checkpoint();
        await saver.putWrites(from("t", next.id), [["x", 1]], "task");
        await saver.put(c0, next, meta(1), {});
        expect((await saver.getTuple(from("t", next.id)))?.pendingWrites).toEqual([["task", "x", 1]]);
      });

      it("rebuilds pending sends for v < 4 checkpoints from the parent's TASKS writes", async () => {
        const saver = await fixture.saver();
        const v1 = checkpoint();
        v1.v = 1;
        const c0 = await saver.put(from("t"), v1, meta(0), {});
        await saver.putWrites(c0, [[TASKS, "send-1"]], "task-1");
        const child = checkpoint();
        child.v = 1;
        const c1 = await saver.put(c0, child, meta(1), {});
        expect((await saver.getTuple(c1))?.checkpoint.channel_values).toEqual({ [TASKS]: ["send-1"] });
      });
    });

    describe("run claims (G2)", () => {
      it("fences puts and writes of a superseded run, and of any run without the epoch while a claim is live", async () => {
        const saver = await fixture.saver();
        const c0 = await saver.put(from("t"), checkpoint(), meta(0), {});
        const key = "langgraph/t/head/~";
        const old = await saver.store.claim({ key, owner: "old-run", ttlMs: 60_000 });
        const c1 = await saver.put(
          { configurable: { ...c0.configurable, fenced_epoch: old.epoch } },
          checkpoint(),
          meta(1),
          {},
        );
        await expect(saver.put(c1, checkpoint(), meta(2), {})).rejects.toBeInstanceOf(FencedError);
        const fresh = await saver.store.claim({ key, owner: "new-run", ttlMs: 60_000, steal: true });
        const stale = { configurable: { ...c1.configurable, fenced_epoch: old.epoch } };
        await expect(saver.put(stale, checkpoint(), meta(2), {})).rejects.toBeInstanceOf(FencedError);
        await expect(saver.putWrites(stale, [["x", 1]], "task")).rejects.toBeInstanceOf(FencedError);
        const sub = { configurable: { thread_id: "t", checkpoint_ns: "node:1", fenced_epoch: old.epoch } };
        await expect(saver.put(sub, checkpoint(), meta(0), {})).rejects.toBeInstanceOf(FencedError);
        await expect(saver.deleteThread("t")).rejects.toBeInstanceOf(FencedError);
        await saver.put({ configurable: { ...c1.configurable, fenced_epoch: fresh.epoch } }, checkpoint(), meta(2), {});
        expect((await saver.getTuple(c1))?.pendingWrites).toEqual([]);
      });
    });

    describe("list", () => {
      it("filters by thread, namespace, before, metadata and limit, newest first", async () => {
        const saver = await fixture.saver();
        const ids: string[] = [];
        let config = from("a");
        for (let step = 0; step < 4; step++) {
          const c = checkpoint({ step }, step + 1);
          ids.push(c.id);
          const metadata = { ...meta(step, step === 0 ? "input" : "loop"), writer: "x" } as CheckpointMetadata;
          config = await saver.put(config, c, metadata, { step: step + 1 });
        }
        await saver.put(from("b"), checkpoint(), meta(0), {});
        await saver.put(from("a", undefined, {}, "sub:1"), checkpoint(), meta(0), {});
        const list = async (c: RunnableConfig, o = {}) => (await all(saver, c, o)).map((t) => t.checkpoint.id);
        expect(await list(from("a"))).toEqual([...ids].reverse());
        expect(await list(from("a"), { limit: 2 })).toEqual([ids[3], ids[2]]);
        expect(await list(from("a"), { before: from("a", ids[2]) })).toEqual([ids[1], ids[0]]);
        expect(await list(from("a"), { filter: { source: "input" } })).toEqual([ids[0]]);
        expect(await list(from("a"), { filter: { writer: "x", step: 2 } })).toEqual([ids[2]]);
        expect(await list({ configurable: { thread_id: "a" } })).toHaveLength(5);
        expect(await list({ configurable: {} })).toHaveLength(6);
      });

      it("pages through long histories", async () => {
        const saver = await fixture.saver();
        let config = from("long");
        for (let step = 0; step < 230; step++) config = await saver.put(config, checkpoint(), meta(step), {});
        const steps = (await all(saver, from("long"))).map((t) => t.metadata?.step);
        expect(steps).toEqual(Array.from({ length: 230 }, (_, i) => 229 - i));
      });
    });

    describe("deleteThread", () => {
      it("deletes every checkpoint, write and namespace of one thread; the thread can start again", async () => {
        const saver = await fixture.saver();
        const c0 = await saver.put(from("gone"), checkpoint({ a: 1 }), meta(0), { a: 1 });
        await saver.putWrites(c0, [["x", 1]], "task");
        await saver.put(from("gone", undefined, {}, "sub:1"), checkpoint(), meta(0), {});
        await saver.put(from("kept"), checkpoint({ k: 1 }), meta(0), { k: 1 });
        await saver.deleteThread("gone");
        expect(await saver.getTuple(from("gone"))).toBeUndefined();
        expect(await saver.getTuple(c0)).toBeUndefined();
        expect(await saver.getTuple(from("gone", undefined, {}, "sub:1"))).toBeUndefined();
        expect(await all(saver, from("gone"))).toEqual([]);
        expect((await saver.getTuple(from("kept")))?.checkpoint.channel_values).toEqual({ k: 1 });
        // A run that started before the delete is fenced; a new first run starts the thread again.
        await expect(saver.put(c0, checkpoint(), meta(1), {})).rejects.toBeInstanceOf(VersionConflictError);
        await saver.put(from("gone"), checkpoint({ a: 2 }), meta(0), { a: 1 });
        expect((await saver.getTuple(from("gone")))?.checkpoint.channel_values).toEqual({ a: 2 });
      });
    });

    it("encodes any thread id and namespace into key segments", async () => {
      const saver = await fixture.saver();
      for (const thread of ["a/b", "~", "%2F", "ünï cödé", "..", "a\u0001b"]) {
        await saver.put(from(thread, undefined, {}, "p|n:1/x"), checkpoint({ thread }), meta(0), { thread: 1 });
      }
      for (const thread of ["a/b", "~", "%2F", "ünï cödé", "..", "a\u0001b"]) {
        expect((await saver.getTuple(from(thread, undefined, {}, "p|n:1/x")))?.checkpoint.channel_values).toEqual({
          thread,
        });
      }
    });
  });
}
