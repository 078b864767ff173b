/**
 * SQLite WAL checkpoints (src/backends/sqlite/wal-checkpoints.ts, docs/sqlite.md "WAL checkpoints"): never inside a
 * COMMIT, done by a worker thread, and the WAL stays bounded under sustained writes because the writer rewinds it
 * between groups. No timing is asserted: only what the WAL holds and that every commit is still there.
 */
import { statSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { SqliteBackend } from "../../src/backend.js";
import { WalCheckpoints, type WalLimits } from "../../src/backends/sqlite/wal-checkpoints.js";
import { StateStore, op, openStore } from "../../src/index.js";
import { tempDir } from "../support/backends.js";
import { spawnWorker } from "../support/processes.js";

const tmp = tempDir();
afterAll(() => tmp.remove());

const walBytes = (file: string) => {
  try {
    return statSync(`${file}-wal`).size;
  } catch {
    return 0;
  }
};
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
const frame = 4096 + 24;

/**
 * A WAL database with automatic checkpoints off, a write of four ~3 KB rows per transaction (the WAL grows by ~16–24
 * KiB each time), and WalCheckpoints on it with a 256-frame bound and the given limits.
 */
function walDatabase(name: string, limits: Partial<WalLimits>) {
  const file = join(tmp.dir, `${name}.db`);
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma("wal_autocheckpoint = 0");
  db.exec("CREATE TABLE kv (k INTEGER PRIMARY KEY, v BLOB NOT NULL)");
  const put = db.prepare("INSERT INTO kv (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v");
  const write = db.transaction((i: number) => {
    for (let j = 0; j < 4; j++) put.run((i * 4 + j) % 4000, Buffer.alloc(3000, i % 256));
  });
  const checkpoints = new WalCheckpoints({
    file,
    db,
    betweenGroups: async (body) => body(),
    limits: { rewindFrames: 256, firstCheckpointAfter: 1, ...limits },
  });
  return { file, db, write, checkpoints };
}
const until = async (condition: () => boolean) => {
  for (let i = 0; i < 2000 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  return condition();
};

describe("SQLite WAL checkpoints", () => {
  it("never checkpoints inside a COMMIT: automatic checkpoints are off on the writer", async () => {
    const backend = new SqliteBackend({ path: join(tmp.dir, "auto.db") });
    expect(backend.db.pragma("wal_autocheckpoint", { simple: true })).toBe(0);
    await backend.close();
  });

  it("keeps the WAL bounded under sustained writes: a worker checkpoints, the writer rewinds, no commit is lost", async () => {
    const { file, db, write, checkpoints } = walDatabase("bounded", { intervalMs: 1 });
    let i = 0;
    const writeSome = async (n: number) => {
      for (const end = i + n; i < end; i++) {
        write(i);
        checkpoints.landed(1);
        if (i % 10 === 0) await turn();
      }
    };
    // Until checkpoints run (the worker takes a moment to start), the WAL grows with every write…
    while (checkpoints.rewinds === 0) await writeSome(10);
    const started = walBytes(file);
    // …then it stops growing: twice as many writes as it took to get here, and at least ~47 MiB of frames, land
    // without the file growing past a few times the bound. Eight times: the writer rewinds at twice the bound once the
    // running pass ends, and under a loaded machine one pass's fsync lets a few hundred ~20 KiB writes land first
    // (at four times this failed about 1 run in 12 with three copies of this file running at once); a WAL that is
    // not bounded ends near ~47 MiB, over 5× this.
    await writeSome(Math.max(3000, 2 * i));
    expect(walBytes(file)).toBeLessThanOrEqual(Math.max(started, 8 * 256 * frame));
    await checkpoints.close();
    db.close();

    const reopened = new Database(file, { readonly: true });
    const last = i - 1;
    const row = reopened.prepare<[number], { v: Buffer }>("SELECT v FROM kv WHERE k = ?").get((last * 4) % 4000)!;
    expect(row.v[0]).toBe(last % 256);
    expect(reopened.prepare("SELECT count(*) AS n FROM kv").get()).toEqual({ n: 4000 });
    reopened.close();
  });

  it("keeps the WAL bounded when the event loop never turns between writes (commits awaited back to back)", async () => {
    // A script awaiting commits in a loop runs in microtasks: no timer fires and no message event is dispatched until
    // it ends. Before, no checkpoint ran in such a loop and the WAL grew with every write (312 MiB after 16,000
    // LangGraph puts). Two mechanisms bound it, each tested alone: the worker's pass is asked for and its report read
    // from `landed`, and the writer rewinds by itself at twice the bound, at an assumed rate until one is measured.
    const run = async (name: string, limits: { intervalMs: number }) => {
      const { file, db, write, checkpoints } = walDatabase(name, { ...limits, stallMs: 5 });
      let largest = 0;
      const started = performance.now();
      // ~6 frames a write, at least 6,000 writes: ~140 MiB of frames if nothing rewound the WAL. With passes due, it
      // goes on (never letting the loop turn) until a worker report was read, for 20 s at most (the thread starts).
      const more = () =>
        limits.intervalMs < 1000 && checkpoints.reportsRead === 0 && performance.now() - started < 20_000;
      for (let i = 0; i < 6000 || more(); i++) {
        write(i);
        checkpoints.landed(1);
        await Promise.resolve();
        if (i % 100 === 0) largest = Math.max(largest, walBytes(file));
      }
      const { rewinds, reportsRead } = checkpoints;
      await checkpoints.close();
      const rows = db.prepare("SELECT count(*) AS n FROM kv").get();
      db.close();
      return { largest, rewinds, reportsRead, rows };
    };
    // Passes every millisecond: the worker's reports are read while the loop runs, and the WAL stays near its bound.
    const passes = await run("tight-passes", { intervalMs: 1 });
    expect(passes.reportsRead).toBeGreaterThan(0);
    expect(passes.rewinds).toBeGreaterThan(0);
    // Writes land while a pass copies: on a loaded machine a pass of tens of milliseconds lets thousands of frames in
    // over a bound this small (1 MiB), so the check is that the WAL stops far below the ~140 MiB it would reach.
    expect(passes.largest).toBeLessThanOrEqual(24 * 256 * frame);
    expect(passes.rows).toEqual({ n: 4000 });
    // No pass is ever due: the writer's own bound alone keeps the WAL within twice the bound (plus a write).
    const alone = await run("tight-alone", { intervalMs: 3_600_000 });
    expect(alone.reportsRead).toBe(0);
    expect(alone.rewinds).toBeGreaterThan(0);
    expect(alone.largest).toBeLessThanOrEqual(4 * 256 * frame);
    expect(alone.rows).toEqual({ n: 4000 });
  });

  it("a store that commits past the first threshold checkpoints through its worker, and close ends the worker", async () => {
    const path = join(tmp.dir, "store.db");
    const backend = new SqliteBackend({ path });
    const store = new StateStore(backend);
    const writer = (backend as unknown as { writer: { checkpoints: WalCheckpoints } }).writer;
    await Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        for (let i = 0; i < 200; i++) await store.commit({ key: `wal/${w}`, op: op.increment(1) });
      }),
    );
    expect(await until(() => (writer.checkpoints.last?.checkpointed ?? 0) > 0)).toBe(true);
    await store.close();
    const again = await openStore({ path });
    for (let w = 0; w < 8; w++) expect((await again.read(`wal/${w}`)).value).toBe(200);
    await again.close();
  });

  it("close() as a script's last step ends the checkpoint thread and resolves (the process exits 0, not 13)", async () => {
    const worker = spawnWorker("test/process/workers/close-last.ts", [join(tmp.dir, "close-last.db")]);
    expect(await worker.nextJson()).toEqual({ worker: true });
    expect(await worker.nextJson()).toEqual({ closed: true });
    expect((await worker.exited).code).toBe(0);
  }, 30_000);
});
