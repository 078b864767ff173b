/**
 * Single-process commit throughput on SQLite next to its physical limit here: a raw better-sqlite3 conditional
 * `UPDATE … WHERE version = ?` on the same machine, the same durability, the same value size, in the same run.
 * Prints the median of several rounds and the ratio. Usage: npx tsx bench/core-commit.ts [--quick] [--json FILE]
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import Database from "better-sqlite3";
import { op, openStore } from "../src/index.js";

const { values } = parseArgs({ options: { quick: { type: "boolean", default: false }, json: { type: "string" } } });
const N = values.quick ? 5_000 : 50_000;
const ROUNDS = values.quick ? 3 : 5;
const KEYS = 1_000;
const value = { text: "x".repeat(100), n: 0 };

async function fencedRound(durability: "normal" | "full"): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "fenced-bench-"));
  const store = await openStore({ path: join(dir, "state.db"), durability });
  const versions = new Array<number>(KEYS).fill(0);
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const k = i % KEYS;
    const r = await store.commit({ key: `bench/k${k}`, op: op.set({ ...value, n: i }), expectVersion: versions[k]! });
    versions[k] = r.version;
  }
  const rate = N / ((performance.now() - t0) / 1000);
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  return rate;
}

function rawRound(durability: "normal" | "full"): number {
  const dir = mkdtempSync(join(tmpdir(), "fenced-bench-"));
  const db = new Database(join(dir, "raw.db"));
  db.pragma("journal_mode = WAL");
  db.pragma(`synchronous = ${durability === "full" ? "FULL" : "NORMAL"}`);
  db.exec("CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT, version INTEGER NOT NULL) WITHOUT ROWID");
  const insert = db.prepare("INSERT INTO kv VALUES (?, ?, 0)");
  db.transaction(() => {
    for (let k = 0; k < KEYS; k++) insert.run(`bench/k${k}`, "null");
  })();
  const update = db.prepare("UPDATE kv SET value = ?, version = version + 1 WHERE key = ? AND version = ?");
  const versions = new Array<number>(KEYS).fill(0);
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const k = i % KEYS;
    if (update.run(JSON.stringify({ ...value, n: i }), `bench/k${k}`, versions[k]!).changes !== 1) throw new Error("lost");
    versions[k]!++;
  }
  const rate = N / ((performance.now() - t0) / 1000);
  db.close();
  rmSync(dir, { recursive: true, force: true });
  return rate;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const results: Record<string, unknown>[] = [];
for (const durability of ["normal", "full"] as const) {
  const fenced: number[] = [];
  const raw: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    raw.push(rawRound(durability));
    fenced.push(await fencedRound(durability));
  }
  const row = {
    durability,
    commits: N,
    fencedPerSec: Math.round(median(fenced)),
    rawPerSec: Math.round(median(raw)),
    ratio: Number((median(fenced) / median(raw)).toFixed(2)),
    fencedMinMax: [Math.round(Math.min(...fenced)), Math.round(Math.max(...fenced))],
    rawMinMax: [Math.round(Math.min(...raw)), Math.round(Math.max(...raw))],
  };
  results.push(row);
  console.log(
    `durability=${durability}: fenced commit ${row.fencedPerSec}/s vs raw conditional UPDATE ${row.rawPerSec}/s → ${row.ratio}× (median of ${ROUNDS}, ${N} commits each)`,
  );
}
if (values.json) writeFileSync(values.json, `${JSON.stringify({ date: new Date().toISOString(), results }, null, 2)}\n`);
