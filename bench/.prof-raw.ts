import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { SQLITE_MIGRATIONS } from "../src/backends/sqlite.js";
const N = 50000;
function setup() {
  const db = new Database(join(mkdtempSync(join(tmpdir(), "raw-")), "s.db"));
  db.pragma("journal_mode = WAL"); db.pragma("synchronous = NORMAL");
  db.exec(SQLITE_MIGRATIONS[0]!);
  return db;
}
function run(name: string, body: (db: Database.Database) => (i: number) => void) {
  const db = setup(); const f = body(db);
  const t0 = performance.now();
  for (let i = 0; i < N; i++) f(i);
  console.log(name.padEnd(40), Math.round(N / ((performance.now() - t0) / 1000)));
  db.close();
}
const val = () => JSON.stringify({ text: "x".repeat(100), n: 1 });
for (let rep = 0; rep < 2; rep++) {
run("autocommit upsert records", (db) => { const s = db.prepare(`INSERT INTO records (key, value, version, epoch, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = excluded.version, epoch = excluded.epoch, updated_at = excluded.updated_at`); return (i) => s.run(`bench/k${i % 1000}`, val(), i, 0, Date.now()); });
run("txn: begin, keystate, upsert, commit", (db) => {
  const b = db.prepare("BEGIN IMMEDIATE"), c = db.prepare("COMMIT");
  const ks = db.prepare(`SELECT r.value, r.version, r.epoch AS r_epoch, r.updated_at, c.owner, c.epoch AS c_epoch, c.expires_at FROM (SELECT 1) LEFT JOIN records r ON r.key = ? LEFT JOIN claims c ON c.key = ?`);
  const s = db.prepare(`INSERT INTO records (key, value, version, epoch, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = excluded.version, epoch = excluded.epoch, updated_at = excluded.updated_at`);
  return (i) => { const k = `bench/k${i % 1000}`; b.run(); ks.get(k, k); s.run(k, val(), i, 0, Date.now()); c.run(); };
});
run("txn: + event", (db) => {
  const b = db.prepare("BEGIN IMMEDIATE"), c = db.prepare("COMMIT");
  const ks = db.prepare(`SELECT r.value, r.version, r.epoch AS r_epoch, r.updated_at, c.owner, c.epoch AS c_epoch, c.expires_at FROM (SELECT 1) LEFT JOIN records r ON r.key = ? LEFT JOIN claims c ON c.key = ?`);
  const s = db.prepare(`INSERT INTO records (key, value, version, epoch, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = excluded.version, epoch = excluded.epoch, updated_at = excluded.updated_at`);
  const e = db.prepare("INSERT INTO events (ts, key, version, epoch, owner, op_id, outcome) VALUES (?, ?, ?, ?, ?, ?, ?)");
  return (i) => { const k = `bench/k${i % 1000}`; b.run(); ks.get(k, k); s.run(k, val(), i, 0, Date.now()); e.run(Date.now(), k, i, 0, null, null, "committed"); c.run(); };
});
run("txn: + event, BEGIN (deferred)", (db) => {
  const b = db.prepare("BEGIN"), c = db.prepare("COMMIT");
  const ks = db.prepare(`SELECT r.value, r.version, r.epoch AS r_epoch, r.updated_at, c.owner, c.epoch AS c_epoch, c.expires_at FROM (SELECT 1) LEFT JOIN records r ON r.key = ? LEFT JOIN claims c ON c.key = ?`);
  const s = db.prepare(`INSERT INTO records (key, value, version, epoch, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = excluded.version, epoch = excluded.epoch, updated_at = excluded.updated_at`);
  const e = db.prepare("INSERT INTO events (ts, key, version, epoch, owner, op_id, outcome) VALUES (?, ?, ?, ?, ?, ?, ?)");
  return (i) => { const k = `bench/k${i % 1000}`; b.run(); ks.get(k, k); s.run(k, val(), i, 0, Date.now()); e.run(Date.now(), k, i, 0, null, null, "committed"); c.run(); };
});
}
