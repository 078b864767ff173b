import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { SQLITE_MIGRATIONS } from "../src/backends/sqlite.js";
const N = 20000;
const val = (i: number) => JSON.stringify({ text: "x".repeat(100), n: i });
function mk(extra = "") { const db = new Database(join(mkdtempSync(join(tmpdir(), "ev-")), "s.db")); db.pragma("journal_mode = WAL"); db.pragma("synchronous = NORMAL"); if (extra) db.pragma(extra); db.exec(SQLITE_MIGRATIONS[0]!); return db; }
function time(name: string, f: (i: number) => void) { const t0 = performance.now(); for (let i = 0; i < N; i++) f(i); console.log(name.padEnd(30), Math.round(N / ((performance.now() - t0) / 1000))); }
for (let rep = 0; rep < 2; rep++) {
  { const db = mk(); const e = db.prepare("INSERT INTO events (ts, key, version, epoch, owner, op_id, outcome) VALUES (?, ?, ?, ?, ?, ?, ?)"); time("event autocommit", (i) => e.run(Date.now(), `bench/k${i % 1000}`, i, 0, null, null, "committed")); db.close(); }
  { const db = mk(); const s = db.prepare(`INSERT INTO records (key, value, version, epoch, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = excluded.version, epoch = excluded.epoch, updated_at = excluded.updated_at`); time("upsert autocommit", (i) => s.run(`bench/k${i % 1000}`, val(i), i, 0, Date.now())); db.close(); }
  { const db = mk(); const s = db.prepare(`INSERT INTO records (key, value, version, epoch, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = excluded.version, epoch = excluded.epoch, updated_at = excluded.updated_at`); const e = db.prepare("INSERT INTO events (ts, key, version, epoch, owner, op_id, outcome) VALUES (?, ?, ?, ?, ?, ?, ?)"); const t = db.transaction((i: number) => { s.run(`bench/k${i % 1000}`, val(i), i, 0, Date.now()); e.run(Date.now(), `bench/k${i % 1000}`, i, 0, null, null, "committed"); }); time("upsert+event txn", t); db.close(); }
  { const db = mk("wal_autocheckpoint=100000"); const s = db.prepare(`INSERT INTO records (key, value, version, epoch, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = excluded.version, epoch = excluded.epoch, updated_at = excluded.updated_at`); const e = db.prepare("INSERT INTO events (ts, key, version, epoch, owner, op_id, outcome) VALUES (?, ?, ?, ?, ?, ?, ?)"); const t = db.transaction((i: number) => { s.run(`bench/k${i % 1000}`, val(i), i, 0, Date.now()); e.run(Date.now(), `bench/k${i % 1000}`, i, 0, null, null, "committed"); }); time("upsert+event txn, no ckpt", t); db.close(); }
  { const db = mk("wal_autocheckpoint=100000"); const s = db.prepare(`INSERT INTO records (key, value, version, epoch, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = excluded.version, epoch = excluded.epoch, updated_at = excluded.updated_at`); time("upsert autocommit, no ckpt", (i) => s.run(`bench/k${i % 1000}`, val(i), i, 0, Date.now())); db.close(); }
}
