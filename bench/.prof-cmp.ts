import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { SQLITE_MIGRATIONS } from "../src/backends/sqlite.js";
import { op, openStore } from "../src/index.js";
const N = 20000;
const dir = () => join(mkdtempSync(join(tmpdir(), "cmp-")), "s.db");
const val = (i: number) => JSON.stringify({ text: "x".repeat(100), n: i });
const pragmas = (process.env.PRAGMAS ?? "").split(";").filter(Boolean);
function rawUpdate(): number {
  const db = new Database(dir()); db.pragma("journal_mode = WAL"); db.pragma("synchronous = NORMAL"); for (const p of pragmas) db.pragma(p);
  db.exec("CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT, version INTEGER NOT NULL) WITHOUT ROWID");
  const ins = db.prepare("INSERT INTO kv VALUES (?, ?, 0)"); db.transaction(() => { for (let k = 0; k < 1000; k++) ins.run(`bench/k${k}`, "null"); })();
  const u = db.prepare("UPDATE kv SET value = ?, version = version + 1 WHERE key = ? AND version = ?");
  const v = new Array(1000).fill(0);
  const t0 = performance.now();
  for (let i = 0; i < N; i++) { const k = i % 1000; if (u.run(val(i), `bench/k${k}`, v[k]).changes !== 1) throw 1; v[k]++; }
  const r = N / ((performance.now() - t0) / 1000); db.close(); return r;
}
function rawTxn(events: boolean): number {
  const db = new Database(dir()); db.pragma("journal_mode = WAL"); db.pragma("synchronous = NORMAL"); for (const p of pragmas) db.pragma(p);
  db.exec(SQLITE_MIGRATIONS[0]!);
  const b = db.prepare("BEGIN IMMEDIATE"), c = db.prepare("COMMIT");
  const ks = db.prepare(`SELECT r.value, r.version, r.epoch AS r_epoch, r.updated_at, c.owner, c.epoch AS c_epoch, c.expires_at FROM (SELECT 1) LEFT JOIN records r ON r.key = ? LEFT JOIN claims c ON c.key = ?`);
  const s = db.prepare(`INSERT INTO records (key, value, version, epoch, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = excluded.version, epoch = excluded.epoch, updated_at = excluded.updated_at`);
  const e = db.prepare("INSERT INTO events (ts, key, version, epoch, owner, op_id, outcome) VALUES (?, ?, ?, ?, ?, ?, ?)");
  const t0 = performance.now();
  for (let i = 0; i < N; i++) { const k = `bench/k${i % 1000}`; b.run(); ks.get(k, k); s.run(k, val(i), i, 0, Date.now()); if (events) e.run(Date.now(), k, i, 0, null, null, "committed"); c.run(); }
  const r = N / ((performance.now() - t0) / 1000); db.close(); return r;
}
async function fenced(): Promise<number> {
  const store = await openStore({ path: dir() });
  const db = (store.backend as unknown as { db: Database.Database }).db; for (const p of pragmas) db.pragma(p);
  const v = new Array<number>(1000).fill(0);
  const t0 = performance.now();
  for (let i = 0; i < N; i++) { const k = i % 1000; v[k] = (await store.commit({ key: `bench/k${k}`, op: op.set({ text: "x".repeat(100), n: i }), expectVersion: v[k]! })).version; }
  const r = N / ((performance.now() - t0) / 1000); await store.close(); return r;
}
const res: Record<string, number[]> = { rawUpdate: [], rawTxn: [], rawTxnEv: [], fenced: [] };
for (let rep = 0; rep < 5; rep++) {
  res.rawUpdate!.push(rawUpdate()); res.rawTxn!.push(rawTxn(false)); res.rawTxnEv!.push(rawTxn(true)); res.fenced!.push(await fenced());
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[2]!;
for (const [k, xs] of Object.entries(res)) console.log(k.padEnd(12), Math.round(med(xs)), (med(xs) / med(res.rawUpdate!)).toFixed(2));
