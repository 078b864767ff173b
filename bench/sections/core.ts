/**
 * Core: single-process `commit` on SQLite next to its physical limit here, a raw better-sqlite3 conditional
 * `UPDATE … WHERE version = ?` on the same machine, the same durability and the same value, alternating round by
 * round. Target (issue 9): ≥ 50% of the raw rate.
 */
import { join } from "node:path";
import Database from "better-sqlite3";
import { WAL_AUTOCHECKPOINT_PAGES } from "../../src/backends/sqlite/backend.js";
import { op, openStore } from "../../src/index.js";
import { figure, perSecond, type Figure, type Target } from "../report.js";
import { commitSqlAlone } from "../sql-alone.js";
import { bySize, type Section, type SectionContext } from "../section.js";

const KEYS = 1_000;
const value = { text: "x".repeat(100), n: 0 };
type Durability = "normal" | "full";

const sizes = (ctx: { size: SectionContext["size"] }) =>
  bySize(ctx.size, {
    full: { commits: 50_000, rounds: 5 },
    quick: { commits: 5_000, rounds: 3 },
    tiny: { commits: 200, rounds: 1 },
  });

/** fsync on every commit is ~100× slower; fewer commits measure it as well. */
const commitsFor = (commits: number, durability: Durability) =>
  durability === "full" ? Math.max(100, commits / 10) : commits;

async function fencedRound(dir: string, durability: Durability, commits: number): Promise<number> {
  const store = await openStore({ path: join(dir, `fenced-${durability}.db`), durability });
  const versions = new Array<number>(KEYS).fill(0);
  const t0 = performance.now();
  for (let i = 0; i < commits; i++) {
    const k = i % KEYS;
    const r = await store.commit({ key: `bench/k${k}`, op: op.set({ ...value, n: i }), expectVersion: versions[k]! });
    versions[k] = r.version;
  }
  const rate = perSecond(commits, performance.now() - t0);
  await store.close();
  return rate;
}

function rawRound(dir: string, durability: Durability, commits: number): number {
  const db = new Database(join(dir, `raw-${durability}.db`));
  db.pragma("journal_mode = WAL");
  db.pragma(`synchronous = ${durability === "full" ? "FULL" : "NORMAL"}`);
  // The same checkpoint interval as the fenced store: the peer is the limit of this machine, not of a default.
  db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
  db.exec("CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT, version INTEGER NOT NULL) WITHOUT ROWID");
  const insert = db.prepare("INSERT INTO kv VALUES (?, ?, 0)");
  db.transaction(() => {
    for (let k = 0; k < KEYS; k++) insert.run(`bench/k${k}`, "null");
  })();
  const update = db.prepare("UPDATE kv SET value = ?, version = version + 1 WHERE key = ? AND version = ?");
  const versions = new Array<number>(KEYS).fill(0);
  const t0 = performance.now();
  for (let i = 0; i < commits; i++) {
    const k = i % KEYS;
    if (update.run(JSON.stringify({ ...value, n: i }), `bench/k${k}`, versions[k]!).changes !== 1) {
      throw new Error("raw conditional UPDATE lost its row");
    }
    versions[k]!++;
  }
  const rate = perSecond(commits, performance.now() - t0);
  db.close();
  return rate;
}

/** The same commits' SQL with none of their JavaScript (bench/sql-alone.ts): the ceiling of `commit` here. */
async function sqlAloneRound(dir: string, durability: Durability, commits: number): Promise<number> {
  const replay = await commitSqlAlone(dir, durability, KEYS, (i) => JSON.stringify({ ...value, n: i }));
  const t0 = performance.now();
  for (let i = 0; i < commits; i++) replay.write(i);
  const rate = perSecond(commits, performance.now() - t0);
  await replay.close();
  return rate;
}

export const coreSection: Section = {
  name: "core",
  title: "Core: commit vs raw conditional UPDATE (one process, SQLite)",
  steps: (size) => sizes({ size }).rounds * 2,
  async run(ctx) {
    const { commits, rounds } = sizes(ctx);
    const figures: Figure[] = [];
    for (const durability of ["normal", "full"] as const) {
      const n = commitsFor(commits, durability);
      const fenced: number[] = [];
      const raw: number[] = [];
      const sqlAlone: number[] = [];
      for (let r = 0; r < rounds; r++) {
        ctx.progress.status(`core: durability ${durability}, round ${r + 1}/${rounds}`);
        const dir = ctx.tempDir();
        // Alternate which side goes first, so neither always gets the warmer cache.
        if (r % 2 === 0) {
          raw.push(rawRound(dir, durability, n));
          fenced.push(await fencedRound(dir, durability, n));
          sqlAlone.push(await sqlAloneRound(dir, durability, n));
        } else {
          sqlAlone.push(await sqlAloneRound(dir, durability, n));
          fenced.push(await fencedRound(dir, durability, n));
          raw.push(rawRound(dir, durability, n));
        }
        ctx.progress.step(`core: durability ${durability}, round ${r + 1}/${rounds}`);
      }
      figures.push(
        figure(
          `commit, ~120 B value, 1,000 keys, durability ${durability}`,
          "commits/s",
          { name: "StateStore.commit", rounds: fenced },
          { name: "raw UPDATE … WHERE version = ?", rounds: raw },
          { details: { commits: n } },
        ),
        figure(
          `commit's SQL alone (its ceiling), durability ${durability}`,
          "commits/s",
          { name: "the same statements, no JavaScript", rounds: sqlAlone },
          { name: "raw UPDATE … WHERE version = ?", rounds: raw },
          { details: { commits: n } },
        ),
      );
    }
    const normal = figures[0]!.ratio!;
    const ceiling = figures[1]!.ratio!;
    const targets: Target[] = [
      {
        kind: "speed",
        text: "commit ≥ 50% of the raw conditional UPDATE (durability normal)",
        measured: `${(normal.median * 100).toFixed(0)}% (its SQL alone: ${(ceiling.median * 100).toFixed(0)}%)`,
        met: normal.median >= 0.5,
      },
    ];
    return {
      figures,
      targets,
      notes: [
        `Both sides: WAL, wal_autocheckpoint=${WAL_AUTOCHECKPOINT_PAGES}; \`normal\` = synchronous=NORMAL (survives any process crash), \`full\` = synchronous=FULL (fsync per commit).`,
        "A fenced commit also writes its event-log row and checks the key's claim (epoch fence) in the same transaction; the raw UPDATE does neither.",
        "SQL alone (bench/sql-alone.ts): BEGIN IMMEDIATE, the key's state (record and claim), the record, its event row, COMMIT — the statements a commit runs, through the backend's own transaction object, back to back with no validation, decision, group commit or promise around them. Its ratio is the most `commit` could reach here with the event row in the same transaction (G4).",
      ],
    };
  },
};
