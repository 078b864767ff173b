/**
 * What a ~1 KB LangGraph put costs SQLite alone under four storage layouts, side by side in one process, with no
 * JavaScript around the statements (each checkpoint's bytes made before the loop). It answers one question of issue 18:
 * how fast could a fenced put be if the storage changed, and would that be enough?
 *
 * - `fenced`: this library's layout — BEGIN IMMEDIATE, the head's state, the head record (G1, G7), its event row (G4),
 *   the checkpoint row (rowid table + unique index), COMMIT.
 * - `fork-aware minimum`: the least a put can write and keep what the saver promises (docs/langgraph.md, "How the saver
 *   fences"): "latest" is the thread's head, the last accepted put, not the greatest checkpoint id (an imported or
 *   clock-skewed id can be smaller than one already stored), so the head needs a place of its own to be found by, and
 *   the row one by id. BEGIN IMMEDIATE, the head's state, the head record, the checkpoint row that is also the event
 *   (its rowid the seq), COMMIT: three B-trees (head record, rows, id index) where SqliteSaver's INSERT touches two.
 * - `sketch`: the layout issue 18 sketches — the checkpoint row is also the head and the event (its rowid the event
 *   seq): BEGIN IMMEDIATE, a read of the thread's latest checkpoint, one INSERT, COMMIT. Its "latest" is the greatest
 *   id, as in the official savers: it gives up the fork-aware head.
 * - `SqliteSaver`: the official saver's statement — one INSERT OR REPLACE in autocommit, the same row bytes.
 *
 * Each layout gets a fresh WAL-mode file (synchronous=NORMAL, automatic checkpoints off so the WAL's growth counts the
 * frames each write adds); writes run in interleaved chunks; the figure is the median of the rounds.
 *
 * Usage: npx tsx bench/put-layouts.ts [--writes N] [--rounds N]
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import Database from "better-sqlite3";
import { stats } from "./report.js";

const { values } = parseArgs({
  options: { writes: { type: "string", default: "4000" }, rounds: { type: "string", default: "5" } },
});
const WRITES = Number(values.writes);
const ROUNDS = Number(values.rounds);
const CHUNK = 50;
const PAGE = 4096;

/** A ~1 KB checkpoint's bytes (checkpoint, metadata) and ids, made before any timing. */
const payload = Buffer.alloc(1100, 0x61);
const metadata = Buffer.from('{"source":"loop","step":1,"parents":{}}');
const id = (i: number) => `1ef${String(i).padStart(12, "0")}-aaaa-bbbb-cccc`;

interface Layout {
  name: string;
  /** Creates the tables on `db` and returns one write. */
  open(db: Database.Database): (i: number) => void;
}

/**
 * The head record both fenced layouts keep (G1's version, G7's epoch): its table, and a write that reads the head's
 * state and moves it to checkpoint `i` at `now`.
 */
const HEAD_TABLE = `CREATE TABLE records (key TEXT PRIMARY KEY, value TEXT, version INTEGER NOT NULL,
  epoch INTEGER NOT NULL, updated_at INTEGER NOT NULL) WITHOUT ROWID;`;

function headRecord(db: Database.Database): (i: number, now: number) => void {
  const state = db.prepare("SELECT version, epoch FROM records WHERE key = ?");
  const record = db.prepare(
    `INSERT INTO records (key, value, version, epoch, updated_at) VALUES (?, ?, ?, 0, ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = excluded.version,
         updated_at = excluded.updated_at`,
  );
  return (i, now) => {
    state.get("head/t/");
    record.run("head/t/", `{"checkpointId":"${id(i)}"}`, i + 1, now);
  };
}

const LAYOUTS: Layout[] = [
  {
    name: "fenced (head record + event + checkpoint row)",
    open(db) {
      db.exec(`${HEAD_TABLE}
               CREATE TABLE events (seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, key TEXT NOT NULL,
                 version INTEGER NOT NULL, epoch INTEGER NOT NULL, owner TEXT, op_id TEXT, outcome TEXT NOT NULL);
               CREATE TABLE checkpoints (thread_id TEXT NOT NULL, ns TEXT NOT NULL, checkpoint_id TEXT NOT NULL,
                 parent_id TEXT, head_version INTEGER NOT NULL, type TEXT NOT NULL, payload BLOB NOT NULL,
                 UNIQUE (thread_id, ns, checkpoint_id));`);
      const head = headRecord(db);
      const event = db.prepare(
        "INSERT INTO events (ts, key, version, epoch, outcome) VALUES (?, ?, ?, 0, 'committed')",
      );
      const row = db.prepare("INSERT INTO checkpoints VALUES ('t', '', ?, ?, ?, 'json', ?)");
      return inTransaction(db, (i) => {
        const now = Date.now();
        head(i, now);
        event.run(now, "head/t/", i + 1);
        row.run(id(i), i > 0 ? id(i - 1) : null, i + 1, Buffer.concat([payload, metadata]));
      });
    },
  },
  {
    name: "fork-aware minimum (head record + row as event)",
    open(db) {
      db.exec(`${HEAD_TABLE}
               CREATE TABLE checkpoints (seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, thread_id TEXT NOT NULL,
                 ns TEXT NOT NULL, checkpoint_id TEXT NOT NULL, parent_id TEXT, head_version INTEGER NOT NULL,
                 epoch INTEGER NOT NULL, type TEXT NOT NULL, payload BLOB NOT NULL, UNIQUE (thread_id, ns, checkpoint_id));`);
      const head = headRecord(db);
      const row = db.prepare(
        `INSERT INTO checkpoints (ts, thread_id, ns, checkpoint_id, parent_id, head_version, epoch, type, payload)
           VALUES (?, 't', '', ?, ?, ?, 0, 'json', ?)`,
      );
      return inTransaction(db, (i) => {
        const now = Date.now();
        head(i, now);
        row.run(now, id(i), i > 0 ? id(i - 1) : null, i + 1, Buffer.concat([payload, metadata]));
      });
    },
  },
  {
    name: "sketch (the checkpoint row is head and event)",
    open(db) {
      db.exec(`CREATE TABLE checkpoints (seq INTEGER PRIMARY KEY, thread_id TEXT NOT NULL, ns TEXT NOT NULL,
                 checkpoint_id TEXT NOT NULL, parent_id TEXT, head_version INTEGER NOT NULL, epoch INTEGER NOT NULL,
                 type TEXT NOT NULL, payload BLOB NOT NULL, UNIQUE (thread_id, ns, checkpoint_id));`);
      const latest = db.prepare(
        "SELECT checkpoint_id, head_version FROM checkpoints WHERE thread_id = ? AND ns = ? ORDER BY checkpoint_id DESC LIMIT 1",
      );
      const row = db.prepare(
        `INSERT INTO checkpoints (thread_id, ns, checkpoint_id, parent_id, head_version, epoch, type, payload)
           VALUES ('t', '', ?, ?, ?, 0, 'json', ?)`,
      );
      return inTransaction(db, (i) => {
        latest.get("t", "");
        row.run(id(i), i > 0 ? id(i - 1) : null, i + 1, Buffer.concat([payload, metadata]));
      });
    },
  },
  {
    name: "SqliteSaver (INSERT OR REPLACE, autocommit)",
    open(db) {
      db.exec(`CREATE TABLE checkpoints (thread_id TEXT NOT NULL, checkpoint_ns TEXT NOT NULL DEFAULT '',
                 checkpoint_id TEXT NOT NULL, parent_checkpoint_id TEXT, type TEXT, checkpoint BLOB, metadata BLOB,
                 PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id));`);
      const row = db.prepare("INSERT OR REPLACE INTO checkpoints VALUES ('t', '', ?, ?, 'json', ?, ?)");
      return (i) => void row.run(id(i), i > 0 ? id(i - 1) : null, payload, metadata);
    },
  },
];

function inTransaction(db: Database.Database, body: (i: number) => void): (i: number) => void {
  const begin = db.prepare("BEGIN IMMEDIATE");
  const commit = db.prepare("COMMIT");
  return (i) => {
    begin.run();
    body(i);
    commit.run();
  };
}

const micros: number[][] = LAYOUTS.map(() => []);
const frames: number[][] = LAYOUTS.map(() => []);
for (let round = 0; round < ROUNDS; round++) {
  const dir = mkdtempSync(join(tmpdir(), "put-layouts-"));
  const opened = LAYOUTS.map((layout, k) => {
    const file = join(dir, `${k}.db`);
    const db = new Database(file);
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma("wal_autocheckpoint = 0");
    const write = layout.open(db);
    return { db, write, wal: `${file}-wal`, elapsed: 0 };
  });
  for (let from = 0, turn = 0; from < WRITES; from += CHUNK, turn++) {
    for (let j = 0; j < opened.length; j++) {
      const o = opened[(j + turn) % opened.length]!;
      const t0 = performance.now();
      for (let i = from; i < Math.min(WRITES, from + CHUNK); i++) o.write(i);
      o.elapsed += performance.now() - t0;
    }
  }
  opened.forEach((o, k) => {
    micros[k]!.push((o.elapsed * 1000) / WRITES);
    frames[k]!.push(statSync(o.wal).size / (PAGE + 24) / WRITES);
    o.db.close();
  });
  rmSync(dir, { recursive: true, force: true });
}

const peer = stats(micros[LAYOUTS.length - 1]!).median;
console.log(`~1 KB puts, SQL alone, ${WRITES} writes × ${ROUNDS} rounds (medians)`);
LAYOUTS.forEach((layout, k) => {
  const us = stats(micros[k]!).median;
  console.log(
    `${layout.name.padEnd(48)} ${us.toFixed(1).padStart(6)} µs/put  ${stats(frames[k]!).median.toFixed(2)} WAL frames/put  ` +
      `SqliteSaver's statement ÷ this: ${(peer / us).toFixed(2)}×`,
  );
});
