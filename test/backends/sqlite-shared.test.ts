/**
 * Many stores on one SQLite file in one process — the README's own setup opens a `FencedCheckpointSaver` and a
 * `FencedStore` on `./.fenced/state.db` — share one writer per file: they work concurrently, commits from any of them
 * are decided against all the others (G1), and nothing blocks the event loop waiting for a lock held in this process.
 */
import { mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { afterAll, describe, expect, it } from "vitest";
import { op, openStore } from "../../src/index.js";
import type { SqliteBackend } from "../../src/backend.js";
import { FencedCheckpointSaver, FencedStore, invokeWithRetry } from "../../src/langgraph/index.js";
import { counterGraph } from "../langgraph/fixtures/counter.js";
import { tempDir } from "../support/backends.js";

const tmp = tempDir();
afterAll(() => tmp.remove());

describe("several stores on one SQLite file in one process", () => {
  it("3 stores × 200 concurrent commits, a saver running a graph and a FencedStore all land, and the event loop never stalls", async () => {
    const path = join(tmp.dir, "shared.db");
    const stores = await Promise.all([1, 2, 3].map(() => openStore({ path })));
    const saver = await FencedCheckpointSaver.open({ path });
    const memory = await FencedStore.open({ path });
    const graph = counterGraph(saver);
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const commits = stores.flatMap((store, s) =>
      Array.from({ length: 200 }, (_, i) => store.commit({ key: `shared/s${s}/k${i % 10}`, op: op.increment(1) })),
    );
    const counter = stores.map((store) => store.commit({ key: "shared/total", op: op.increment(1) }));
    // Runs on one thread conflict with each other (G7); each lands once it wins.
    const runs = Array.from({ length: 5 }, () =>
      invokeWithRetry(graph, { log: ["run"] }, { configurable: { thread_id: "t" } }),
    );
    const items = Array.from({ length: 50 }, (_, i) => memory.put(["users", `u${i % 5}`], `item${i}`, { i }));
    const settled = await Promise.allSettled([...commits, ...counter, ...runs, ...items]);
    delay.disable();
    expect(
      settled.filter((r) => r.status === "rejected").map((r) => String((r as PromiseRejectedResult).reason)),
    ).toEqual([]);
    // A correctness bound, not a speed target: the bug this guards against froze the loop for busyTimeoutMs (5 s).
    console.log(
      `one file, 3 stores + saver + FencedStore: ${settled.length} calls, max event-loop delay ${(delay.max / 1e6).toFixed(1)} ms`,
    );
    expect(delay.max / 1e6).toBeLessThan(1000);

    const reader = stores[0]!;
    for (let s = 0; s < 3; s++) expect((await reader.read(`shared/s${s}/k0`)).value).toBe(20);
    expect((await reader.read("shared/total")).value).toBe(3);
    expect((await graph.getState({ configurable: { thread_id: "t" } })).values.count).toBe(5);
    expect((await memory.search(["users"], { limit: 100 })).length).toBe(50);
    const seqs = (await reader.events("", { limit: 10_000 })).map((e) => e.seq);
    expect(new Set(seqs).size).toBe(seqs.length);

    await Promise.all([...stores.map((s) => s.close()), saver.store.close(), memory.state.close()]);
  }, 120_000);

  it("shares one writer whatever path reaches the file, and the strongest durability asked for", async () => {
    const dir = join(tmp.dir, "real");
    mkdirSync(dir);
    symlinkSync(dir, join(tmp.dir, "link"));
    const a = await openStore({ path: join(dir, "state.db") });
    const b = await openStore({ path: join(tmp.dir, "link", "..", "real", "state.db"), durability: "full" });
    const c = await openStore({ path: join(tmp.dir, "link", "state.db") });
    const writer = (a.backend as SqliteBackend).db;
    expect((b.backend as SqliteBackend).db).toBe(writer);
    expect((c.backend as SqliteBackend).db).toBe(writer);
    await a.commit({ key: "d/x", op: op.set(1) });
    expect(writer.pragma("synchronous", { simple: true })).toBe(2); // FULL
    expect((await c.read("d/x")).value).toBe(1);
    await Promise.all([a.close(), b.close(), c.close()]);
  });

  it("closing one store leaves the others on the file working; the file closes with the last", async () => {
    const path = join(tmp.dir, "close-one.db");
    const [a, b] = await Promise.all([openStore({ path }), openStore({ path })]);
    await a.commit({ key: "c/x", op: op.set(1) });
    const inFlight = b.commit({ key: "c/x", op: op.increment(1) });
    await a.close();
    await inFlight;
    expect((await b.commit({ key: "c/x", op: op.increment(1) })).version).toBe(3);
    expect((await b.read("c/x")).value).toBe(3);
    await expect(a.read("c/x")).rejects.toMatchObject({ code: "CLOSED" });
    await b.close();
    const again = await openStore({ path });
    expect((await again.read("c/x")).value).toBe(3);
    await again.close();
  });
});
