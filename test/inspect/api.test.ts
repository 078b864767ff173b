/**
 * `fenced inspect`'s JSON API on every backend: cursor pagination that returns every event, key and checkpoint
 * exactly once in order (also when a sparse filter outruns one request's scan budget), key history, thread lineages
 * and decoded state, typed errors for bad input, and no writes at all.
 */
import { afterEach, describe, expect, it } from "vitest";
import { op, VersionConflictError, FencedError, type StateEvent } from "../../src/index.js";
import { FencedCheckpointSaver, forkConfig } from "../../src/langgraph/index.js";
import { createInspector } from "../../src/inspect/server.js";
import type { KeysPage } from "../../src/inspect/keys.js";
import type { LineagePage, ThreadDetail } from "../../src/inspect/threads.js";
import { backendFixtures } from "../support/backends.js";
import { meta } from "../langgraph/fixtures/checkpoints.js";
import { commitMany, forkedThread, getJson, interruptedThread, numberedCheckpoint, walkPages } from "./support.js";

type EventsPage = { events: StateEvent[]; next: number | null; lastSeq: number };

for (const fixture of backendFixtures()) {
  describe(`inspect API on ${fixture.name}`, () => {
    afterEach(() => fixture.cleanup());

    it("pages the event log newest first by `before` and oldest first by `after`: every event once, in order", async () => {
      const store = await fixture.open();
      await commitMany(store, 2_345);
      const { app } = createInspector(store, { port: 0 });
      const newestFirst = (
        await walkPages<EventsPage, number>(
          app,
          (before) => `/api/events?limit=97${before === undefined ? "" : `&before=${before}`}`,
        )
      ).flatMap((p) => p.events.map((e) => e.seq));
      const lastSeq = await store.backend.lastSeq();
      const all = (await store.events("", { fromSeq: 1, limit: 10_000 })).map((e) => e.seq);
      expect(all).toHaveLength(2_345);
      expect(newestFirst).toEqual([...all].reverse());
      expect(newestFirst[0]).toBe(lastSeq);

      const oldestFirst = (
        await walkPages<EventsPage, number>(app, (after) => `/api/events?limit=250&after=${after ?? 0}`)
      ).flatMap((p) => p.events.map((e) => e.seq));
      expect(oldestFirst).toEqual(all);
      await app.close();
    });

    it("a sparse filter over more events than one request scans answers short with a cursor, and following it finds every match", async () => {
      const store = await fixture.open();
      const conflict = async () => {
        const r = await store.commit({ key: "hot/x", op: op.set(1) });
        await expect(
          store.commit({ key: "hot/x", op: op.set(2), expectVersion: r.version - 1 }),
        ).rejects.toBeInstanceOf(VersionConflictError);
        return (await store.events("hot/", { fromSeq: r.seq + 1, limit: 1 }))[0]!.seq;
      };
      const conflicts = [await conflict()];
      const budget = 1_000;
      await commitMany(store, budget + 1_500, "a");
      conflicts.push(await conflict());
      await commitMany(store, 1_000, "b");
      conflicts.push(await conflict());
      const { app } = createInspector(store, { port: 0, scanBudget: budget });

      const pages = await walkPages<EventsPage, number>(
        app,
        (before) => `/api/events?outcome=conflict&limit=10${before === undefined ? "" : `&before=${before}`}`,
      );
      expect(pages.every((p) => p.events.every((e) => e.outcome === "conflict"))).toBe(true);
      expect(pages.flatMap((p) => p.events.map((e) => e.seq))).toEqual([...conflicts].reverse());
      // The budget ran out between the first conflict and the second: a short page that still has a cursor.
      expect(pages.some((p) => p.events.length < 10 && p.next !== null)).toBe(true);

      const ascending = (
        await walkPages<EventsPage, number>(app, (after) => `/api/events?outcome=conflict&limit=10&after=${after ?? 0}`)
      ).flatMap((p) => p.events.map((e) => e.seq));
      expect(ascending).toEqual(conflicts);
      await app.close();
    });

    it("a key's history holds its own events only (not those of keys it is a prefix of), with every outcome", async () => {
      const store = await fixture.open();
      await store.commit({ key: "team/plan", op: op.set("v1"), owner: "alice" });
      await store.commit({ key: "team/planner", op: op.set("other") });
      await expect(
        store.commit({ key: "team/plan", op: op.set("lost"), expectVersion: 0, owner: "bob" }),
      ).rejects.toBeInstanceOf(VersionConflictError);
      const held = await store.claim({ key: "team/plan", owner: "w1", ttlMs: 60_000 });
      await store.claim({ key: "team/plan", owner: "w2", ttlMs: 60_000, steal: true });
      await expect(
        store.commit({ key: "team/plan", op: op.set("zombie"), epoch: held.epoch, owner: "w1" }),
      ).rejects.toBeInstanceOf(FencedError);
      const { app } = createInspector(store, { port: 0 });
      const { body } = await getJson<EventsPage>(app, "/api/events?key=team%2Fplan");
      expect(body.events.map((e) => [e.outcome, e.owner])).toEqual([
        ["fenced", "w1"],
        ["claimed", "w2"],
        ["claimed", "w1"],
        ["conflict", "bob"],
        ["committed", "alice"],
      ]);
      const prefixed = await getJson<EventsPage>(app, "/api/events?prefix=team%2Fplan");
      expect(prefixed.body.events).toHaveLength(6);
      await app.close();
    });

    it("lists keys under a prefix page by page, each with version, preview and claim (holder, epoch, expiry, live)", async () => {
      const store = await fixture.open();
      await commitMany(store, 250, "q");
      await store.commit({ key: "q/zz", op: op.set({ text: "x".repeat(500) }) });
      await store.claim({ key: "q/zz", owner: "worker-7", ttlMs: 60_000 });
      await store.commit({ key: "other/k", op: op.set(1) });
      const { app } = createInspector(store, { port: 0 });
      const keys = (
        await walkPages<KeysPage, string>(
          app,
          (after) =>
            `/api/keys?prefix=q%2F&limit=40${after === undefined ? "" : `&after=${encodeURIComponent(after)}`}`,
        )
      ).flatMap((p) => p.keys);
      expect(keys).toHaveLength(251);
      expect(new Set(keys.map((k) => k.key)).size).toBe(251);
      expect(keys.every((k) => k.key.startsWith("q/"))).toBe(true);
      const zz = keys.find((k) => k.key === "q/zz")!;
      expect(zz).toMatchObject({ version: 1, exists: true, claim: { owner: "worker-7", epoch: 1, live: true } });
      expect(zz.preview!.length).toBeLessThan(200);
      expect(zz.claim!.expiresAt).toBeGreaterThan(Date.now());
      const detail = await getJson(app, "/api/key?key=q%2Fzz");
      expect(detail.body).toMatchObject({
        key: "q/zz",
        value: { text: "x".repeat(500) },
        claim: { owner: "worker-7", epoch: 1 },
      });
      expect((await getJson(app, "/api/key?key=q%2Fmissing")).body).toMatchObject({ error: { code: "NOT_FOUND" } });
      await app.close();
    });

    it("pages a thread's lineage newest first, every checkpoint once with its parent, and names the head", async () => {
      const store = await fixture.open();
      const saver = new FencedCheckpointSaver(store);
      const cfg = (parent?: string) => ({
        configurable: { thread_id: "long", checkpoint_ns: "", ...(parent && { checkpoint_id: parent }) },
      });
      let parent: string | undefined;
      const ids: string[] = [];
      for (let i = 0; i < 430; i++) {
        const c = numberedCheckpoint(i, { n: i });
        await saver.put(cfg(parent), c, meta(i), { n: i + 1 });
        ids.push(c.id);
        parent = c.id;
      }
      // A fork from checkpoint 100: two children there, and the fork is the new head.
      const fork = numberedCheckpoint(1000, { n: -1 });
      await saver.put(forkConfig(cfg(ids[100])), fork, meta(101, "fork"), { n: 1 });
      const { app } = createInspector(store, { port: 0 });

      const pages = await walkPages<LineagePage, string>(
        app,
        (after) => `/api/thread/lineage?thread=long&limit=64${after === undefined ? "" : `&after=${after}`}`,
      );
      const nodes = pages.flatMap((p) => p.nodes);
      expect(pages.length).toBe(Math.ceil(431 / 64));
      expect(pages.every((p) => p.headId === fork.id)).toBe(true);
      expect(nodes.map((n) => n.id)).toEqual([fork.id, ...[...ids].reverse()]);
      expect(nodes[0]).toMatchObject({ parentId: ids[100], step: 101, source: "fork" });
      expect(nodes.filter((n) => n.parentId === ids[100])).toHaveLength(2);

      const thread = await getJson<ThreadDetail>(app, "/api/thread?thread=long");
      expect(thread.body).toMatchObject({
        threadId: "long",
        head: { checkpointId: fork.id },
        namespaces: [{ ns: "" }],
      });
      const state = await getJson(app, `/api/thread/checkpoint?thread=long&id=${ids[7]}`);
      expect(state.body).toMatchObject({ id: ids[7], parentId: ids[6], values: { n: 7 }, metadata: { step: 7 } });
      await app.close();
    });

    it("lists LangGraph threads with their head and the run holding each; the state at a checkpoint is decoded, pending interrupts counted", async () => {
      const store = await fixture.open();
      const saver = new FencedCheckpointSaver(store);
      const { headId } = await forkedThread(saver, "t/with slash");
      await forkedThread(saver, "second");
      await store.claim({ key: "langgraph/second/head/~", owner: "run-42", ttlMs: 60_000 });
      const { app } = createInspector(store, { port: 0 });
      const summary = await getJson<{ sections: { id: string }[] }>(app, "/api/summary");
      expect(summary.body.sections.map((s) => s.id)).toEqual(["threads"]);
      const { body } = await getJson<{ threads: ThreadDetail[]; next: string | null }>(app, "/api/threads?limit=1");
      expect(body.threads).toHaveLength(1);
      const rest = await getJson<{ threads: ThreadDetail[]; next: string | null }>(
        app,
        `/api/threads?limit=10&after=${encodeURIComponent(body.next!)}`,
      );
      const all = [...body.threads, ...rest.body.threads];
      expect(all.map((t) => t.threadId).sort()).toEqual(["second", "t/with slash"]);
      expect(all.find((t) => t.threadId === "second")!.run).toMatchObject({ owner: "run-42", live: true });
      expect(all.find((t) => t.threadId === "t/with slash")).toMatchObject({
        head: { checkpointId: headId },
        run: null,
      });
      const state = await getJson(
        app,
        `/api/thread/checkpoint?thread=${encodeURIComponent("t/with slash")}&id=${headId}`,
      );
      expect(state.body).toMatchObject({ id: headId, values: { count: 2, log: ["one", "replay"] } });

      await interruptedThread(saver, "approval");
      const lineage = await getJson<LineagePage>(app, "/api/thread/lineage?thread=approval");
      const head = lineage.body.nodes.find((n) => n.id === lineage.body.headId)!;
      expect(head.interrupts).toBe(1);
      const paused = await getJson<{ pendingWrites: { channel: string; value: unknown }[] }>(
        app,
        `/api/thread/checkpoint?thread=approval&id=${head.id}`,
      );
      expect(paused.body.pendingWrites).toContainEqual(
        expect.objectContaining({
          channel: "__interrupt__",
          value: [expect.objectContaining({ value: { question: "Send this refund?" } })],
        }),
      );
      await app.close();
    });

    it("never writes: every endpoint leaves the event log and the keys as they were", async () => {
      const store = await fixture.open();
      const saver = new FencedCheckpointSaver(store);
      const { headId } = await forkedThread(saver, "t");
      await store.claim({ key: "c/k", owner: "o", ttlMs: 60_000 });
      const before = { seq: await store.backend.lastSeq(), keys: await store.list({ limit: 10_000 }) };
      const { app } = createInspector(store, { port: 0 });
      for (const url of [
        "/api/summary",
        "/api/keys",
        "/api/key?key=c%2Fk",
        "/api/events",
        "/api/events?after=0",
        "/api/events/counts",
        "/api/threads",
        "/api/thread?thread=t",
        "/api/thread/lineage?thread=t",
        `/api/thread/checkpoint?thread=t&id=${headId}`,
      ]) {
        expect((await app.inject({ method: "GET", url })).statusCode, url).toBe(200);
      }
      expect({ seq: await store.backend.lastSeq(), keys: await store.list({ limit: 10_000 }) }).toEqual(before);
      await app.close();
    });
  });
}

describe("inspect API: input, errors and counts", () => {
  const [memory] = backendFixtures();

  it("rejects bad queries with INVALID_INPUT (400), unknown threads and checkpoints with NOT_FOUND (404)", async () => {
    const store = await memory!.open();
    const { app } = createInspector(store, { port: 0 });
    for (const url of [
      "/api/events?outcome=won",
      "/api/events?limit=0",
      "/api/events?before=1&after=2",
      "/api/keys?limit=x",
      "/api/key",
      "/api/thread/lineage",
    ]) {
      const { status, body } = await getJson(app, url);
      expect([url, status, body]).toMatchObject([url, 400, { error: { code: "INVALID_INPUT" } }]);
    }
    expect((await getJson(app, "/api/thread?thread=nope")).body).toMatchObject({ error: { code: "NOT_FOUND" } });
    expect((await getJson(app, "/api/nothing")).status).toBe(404);
    await app.close();
  });

  it("counts outcomes per time bucket under a prefix", async () => {
    let now = 1_000_000;
    const store = await memory!.open({ clock: () => now });
    await store.commit({ key: "a/1", op: op.set(1) });
    now += 30_000;
    await expect(store.commit({ key: "a/1", op: op.set(2), expectVersion: 0 })).rejects.toBeInstanceOf(
      VersionConflictError,
    );
    await store.commit({ key: "b/1", op: op.set(1) });
    now += 30_000;
    const { app } = createInspector(store, { port: 0 });
    const { body } = await getJson<{ buckets: Record<string, number>[]; bucketMs: number }>(
      app,
      "/api/events/counts?prefix=a%2F&windowMs=60000&buckets=2",
    );
    expect(body.bucketMs).toBe(30_000);
    expect(body.buckets.map((b) => [b.committed, b.conflict])).toEqual([
      [1, 0],
      [0, 1],
    ]);
    await app.close();
  });
});
