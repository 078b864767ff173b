/**
 * Real OS processes on one SQLite file (docs/design.md §5: several processes on one file are safe).
 * G1 + G6: 4 processes × `update()` increments end with the exact total and no error anywhere.
 */
import { afterAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { openStore } from "../../src/index.js";
import { tempDir } from "../support/backends.js";
import { spawnWorker } from "../support/processes.js";

const tmp = tempDir();
afterAll(() => tmp.remove());

describe("G1 across OS processes on one SQLite file", () => {
  it("4 processes x 250 update() increments end at exactly 1000, every one acknowledged", async () => {
    const path = join(tmp.dir, "multi.db");
    (await openStore({ path })).close();
    const workers = Array.from({ length: 4 }, () =>
      spawnWorker("test/process/workers/incrementer.ts", [path, "hot/counter", "250"]),
    );
    const reports = await Promise.all(workers.map((w) => w.nextJson<{ done: number; retries: number }>()));
    const exits = await Promise.all(workers.map((w) => w.exited));
    for (const e of exits) expect(e, e.stderr).toMatchObject({ code: 0 });
    expect(reports.reduce((n, r) => n + r.done, 0)).toBe(1000);

    const store = await openStore({ path });
    const counter = await store.read("hot/counter");
    expect(counter).toMatchObject({ value: 1000, version: 1000 });
    // Every acknowledged commit is in the log exactly once, and the versions form one chain 1..1000.
    const committed = (await store.events("hot/", { fromSeq: 1, limit: 100_000 })).filter(
      (e) => e.outcome === "committed",
    );
    expect(committed.map((e) => e.version)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    const conflicts = (await store.events("hot/", { fromSeq: 1, limit: 100_000 })).filter(
      (e) => e.outcome === "conflict",
    ).length;
    expect(conflicts).toBe(reports.reduce((n, r) => n + r.retries, 0));
    await store.close();
  });
});
