/**
 * Contention: 1, 2, 4, 8 OS processes running `update()` on one hot key and on 1,000 keys of one SQLite file.
 * Reports goodput (commits/s), conflicts per commit, p50/p99 latency, the ratio to the single-process goodput, and
 * checks the exact final totals (zero lost updates). Usage: npx tsx bench/contention.ts [--quick] [--json FILE]
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { openStore } from "../src/index.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const { values } = parseArgs({ options: { quick: { type: "boolean", default: false }, json: { type: "string" } } });
const DURATION = values.quick ? 1500 : 4000;

function runWorker(path: string, keys: number, startAt: number): Promise<{ commits: number; conflicts: number; latencies: number[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "bench/workers/updater.ts", path, String(keys), String(DURATION), String(startAt)], { cwd: ROOT });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("exit", (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(err))));
  });
}

const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
const rows: Record<string, unknown>[] = [];
for (const keys of [1, 1000]) {
  let single = 0;
  for (const procs of [1, 2, 4, 8]) {
    const dir = mkdtempSync(join(tmpdir(), "fenced-contention-"));
    const path = join(dir, "state.db");
    (await openStore({ path })).close();
    const startAt = Date.now() + 1500; // every process is up before the clock starts
    const results = await Promise.all(Array.from({ length: procs }, () => runWorker(path, keys, startAt)));
    const commits = results.reduce((n, r) => n + r.commits, 0);
    const conflicts = results.reduce((n, r) => n + r.conflicts, 0);
    const latencies = results.flatMap((r) => r.latencies).sort((a, b) => a - b);
    const store = await openStore({ path });
    const total = (await store.list({ prefix: "bench/", limit: 10_000 })).reduce((n, r) => n + (r.value as number), 0);
    await store.close();
    rmSync(dir, { recursive: true, force: true });
    const goodput = commits / (DURATION / 1000);
    if (procs === 1) single = goodput;
    const row = {
      keys,
      processes: procs,
      goodput: Math.round(goodput),
      vsSingleProcess: Number((goodput / single).toFixed(2)),
      conflictsPerCommit: Number((conflicts / commits).toFixed(3)),
      p50ms: Number(pct(latencies, 0.5).toFixed(3)),
      p99ms: Number(pct(latencies, 0.99).toFixed(3)),
      lostUpdates: commits - total,
    };
    rows.push(row);
    console.log(
      `${keys === 1 ? "hot key  " : "1000 keys"} ${procs} proc: ${row.goodput} commits/s (${row.vsSingleProcess}× single), ${row.conflictsPerCommit} conflicts/commit, p50 ${row.p50ms} ms, p99 ${row.p99ms} ms, lost ${row.lostUpdates}`,
    );
    if (row.lostUpdates !== 0) process.exitCode = 1;
  }
}
if (values.json) writeFileSync(values.json, `${JSON.stringify({ date: new Date().toISOString(), durationMs: DURATION, rows }, null, 2)}\n`);
