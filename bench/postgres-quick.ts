/**
 * Commits/s on PostgreSQL next to SQLite, in one run on one machine: the same fenced commits (set with expectVersion,
 * ~120-byte values, 1,000 keys) by 1 writer and by 8 concurrent writers (disjoint keys, so no conflicts), plus the
 * raw peer on Postgres — a bare autocommit `UPDATE … WHERE key = $2 AND version = $3` through the same pool size.
 * Prints medians of several rounds and the ratios.
 * Usage: FENCED_PG_URL=postgres://… npx tsx bench/postgres-quick.ts [--commits N] [--rounds R] [--json FILE]
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { op, openStore, type StateStore } from "../src/index.js";

const { values } = parseArgs({
  options: { commits: { type: "string", default: "2000" }, rounds: { type: "string", default: "3" }, json: { type: "string" } },
});
const url = process.env.FENCED_PG_URL;
if (!url) throw new Error("set FENCED_PG_URL, e.g. postgres://fenced:fenced@127.0.0.1:5432/fenced");
const N = Number(values.commits);
const ROUNDS = Number(values.rounds);
const KEYS = 1_000;
const POOL = 8;
const value = { text: "x".repeat(100), n: 0 };

/** Runs N commits split over `writers` lanes, each lane on its own keys; returns commits/s. */
async function drive(writers: number, commitOne: (key: string, version: number, i: number) => Promise<number>): Promise<number> {
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async (_, lane) => {
      const versions = new Map<string, number>();
      for (let i = lane; i < N; i += writers) {
        const key = `bench/k${(i % (KEYS / writers)) * writers + lane}`;
        versions.set(key, await commitOne(key, versions.get(key) ?? 0, i));
      }
    }),
  );
  return N / ((performance.now() - t0) / 1000);
}

const fencedCommit = (store: StateStore) => async (key: string, version: number, i: number) =>
  (await store.commit({ key, op: op.set({ ...value, n: i }), expectVersion: version })).version;

async function sqliteRound(writers: number, durability: "normal" | "full"): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "fenced-bench-"));
  const store = await openStore({ path: join(dir, "state.db"), durability });
  try {
    return await drive(writers, fencedCommit(store));
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function postgresRound(writers: number, admin: pg.Client): Promise<number> {
  const schema = `fenced_bench_${randomBytes(4).toString("hex")}`;
  const store = await openStore({ url: url!, schema, pool: { max: POOL } });
  try {
    return await drive(writers, fencedCommit(store));
  } finally {
    await store.close();
    await admin.query(`DROP SCHEMA "${schema}" CASCADE`);
  }
}

async function rawPostgresRound(writers: number, admin: pg.Client): Promise<number> {
  const schema = `fenced_bench_raw_${randomBytes(4).toString("hex")}`;
  await admin.query(`CREATE SCHEMA "${schema}"`);
  await admin.query(`CREATE TABLE "${schema}".kv (key text COLLATE "C" PRIMARY KEY, value text, version bigint NOT NULL)`);
  await admin.query(`INSERT INTO "${schema}".kv SELECT 'bench/k' || g, 'null', 0 FROM generate_series(0, ${KEYS - 1}) g`);
  const pool = new pg.Pool({ connectionString: url, max: POOL });
  const update = { name: "raw_update", text: `UPDATE "${schema}".kv SET value = $1, version = version + 1 WHERE key = $2 AND version = $3` };
  try {
    return await drive(writers, async (key, version, i) => {
      const r = await pool.query({ ...update, values: [JSON.stringify({ ...value, n: i }), key, version] });
      if (r.rowCount !== 1) throw new Error("lost update in the raw peer");
      return version + 1;
    });
  } finally {
    await pool.end();
    await admin.query(`DROP SCHEMA "${schema}" CASCADE`);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const admin = new pg.Client({ connectionString: url });
await admin.connect();
const results: Record<string, number>[] = [];
try {
  for (const writers of [1, 8]) {
    const runs: Record<string, number[]> = { sqliteNormal: [], sqliteFull: [], postgres: [], rawPostgres: [] };
    for (let r = 0; r < ROUNDS; r++) {
      runs.sqliteNormal!.push(await sqliteRound(writers, "normal"));
      runs.sqliteFull!.push(await sqliteRound(writers, "full"));
      runs.postgres!.push(await postgresRound(writers, admin));
      runs.rawPostgres!.push(await rawPostgresRound(writers, admin));
    }
    const m = Object.fromEntries(Object.entries(runs).map(([k, xs]) => [k, Math.round(median(xs))])) as Record<string, number>;
    results.push({ writers, commits: N, ...m });
    const ratio = (a: number, b: number) => (a / b).toFixed(2);
    console.log(
      `${writers} writer(s): postgres ${m.postgres}/s | sqlite normal ${m.sqliteNormal}/s, full ${m.sqliteFull}/s | ` +
        `raw postgres UPDATE ${m.rawPostgres}/s → postgres/sqlite-normal ${ratio(m.postgres!, m.sqliteNormal!)}×, ` +
        `postgres/sqlite-full ${ratio(m.postgres!, m.sqliteFull!)}×, postgres/raw-postgres ${ratio(m.postgres!, m.rawPostgres!)}× ` +
        `(median of ${ROUNDS}, ${N} commits each)`,
    );
  }
} finally {
  await admin.end();
}
if (values.json) writeFileSync(values.json, `${JSON.stringify({ date: new Date().toISOString(), results }, null, 2)}\n`);
