/**
 * Contention: 1, 2, 4, 8 OS processes running `update()` (read, +1, commit with expectVersion, retry on conflict) on
 * one hot key and on 1,000 keys of one SQLite file. Goodput (commits/s) next to the single-process goodput of the
 * same round, conflicts per commit, p50/p99 latency of a whole `update()` (retries included), and the exact final
 * total checked against the acknowledged commits. Target (issue 9): 4 processes on one hot key keep ≥ 50% of the
 * single-process goodput, zero lost updates.
 */
import { join } from "node:path";
import { openStore } from "../../src/index.js";
import { spawnWorker } from "../../test/support/processes.js";
import { figure, quantile, stats, type Figure, type Target } from "../report.js";
import { bySize, type Section } from "../section.js";

interface WorkerResult {
  commits: number;
  conflicts: number;
  latencies: number[];
}

interface Run {
  goodput: number;
  conflictsPerCommit: number;
  p50: number;
  p99: number;
  lost: number;
}

const sizes = (size: Parameters<Section["steps"]>[0]) =>
  bySize(size, {
    full: { durationMs: 3000, rounds: 3, processes: [1, 2, 4, 8] },
    quick: { durationMs: 1000, rounds: 3, processes: [1, 2, 4, 8] },
    tiny: { durationMs: 200, rounds: 1, processes: [1, 2] },
  });
const KEY_SETS = [1, 1000] as const;

/** Starts `processes` workers on one fresh file, releases them together, and checks the total they leave. */
async function contend(dir: string, processes: number, keys: number, durationMs: number): Promise<Run> {
  const path = join(dir, `contention-${keys}-${processes}.db`);
  await (await openStore({ path })).close();
  const workers = Array.from({ length: processes }, () =>
    spawnWorker("bench/workers/updater.ts", [path, String(keys), String(durationMs)]),
  );
  try {
    await Promise.all(workers.map((w) => w.nextJson()));
    for (const w of workers) w.child.stdin.write("go\n");
    const results = await Promise.all(workers.map((w) => w.nextJson<WorkerResult>()));
    const commits = results.reduce((n, r) => n + r.commits, 0);
    const conflicts = results.reduce((n, r) => n + r.conflicts, 0);
    const latencies = results.flatMap((r) => r.latencies).sort((a, b) => a - b);
    const store = await openStore({ path });
    const total = (await store.list({ prefix: "bench/", limit: 10_000 })).reduce((n, r) => n + (r.value as number), 0);
    await store.close();
    return {
      goodput: commits / (durationMs / 1000),
      conflictsPerCommit: commits === 0 ? 0 : conflicts / commits,
      p50: quantile(latencies, 0.5),
      p99: quantile(latencies, 0.99),
      lost: commits - total,
    };
  } finally {
    for (const w of workers) w.child.kill("SIGKILL");
  }
}

export const contentionSection: Section = {
  name: "contention",
  title: "Contention: N OS processes running update() on one SQLite file",
  steps: (size) => KEY_SETS.length * sizes(size).processes.length * sizes(size).rounds,
  async run(ctx) {
    const { durationMs, rounds, processes } = sizes(ctx.size);
    const figures: Figure[] = [];
    let lostTotal = 0;
    for (const keys of KEY_SETS) {
      const runs = new Map<number, Run[]>(processes.map((p) => [p, []]));
      for (let r = 0; r < rounds; r++) {
        for (const p of processes) {
          ctx.progress.status(
            `contention: ${keys === 1 ? "hot key" : `${keys} keys`}, ${p} processes, round ${r + 1}/${rounds}`,
          );
          runs.get(p)!.push(await contend(ctx.tempDir(), p, keys, durationMs));
          ctx.progress.step(`contention: ${keys} keys, ${p} processes`);
        }
      }
      const single = runs.get(1)!.map((x) => x.goodput);
      for (const p of processes) {
        const rs = runs.get(p)!;
        const lost = rs.reduce((n, x) => n + x.lost, 0);
        lostTotal += Math.abs(lost);
        figures.push(
          figure(
            `${keys === 1 ? "hot key" : `${keys.toLocaleString("en-US")} keys`}, ${p} process${p === 1 ? "" : "es"}`,
            "commits/s",
            { name: "update() goodput", rounds: rs.map((x) => x.goodput) },
            { name: "1 process, same round", rounds: single },
            {
              details: {
                "conflicts/commit": Number(stats(rs.map((x) => x.conflictsPerCommit)).median.toFixed(3)),
                "p50 ms": Number(stats(rs.map((x) => x.p50)).median.toFixed(3)),
                "p99 ms": Number(stats(rs.map((x) => x.p99)).median.toFixed(3)),
                "lost updates": lost,
              },
            },
          ),
        );
      }
    }
    const hot4 = figures.find((f) => f.name === "hot key, 4 processes");
    const targets: Target[] = [
      {
        kind: "safety",
        text: "zero lost updates (every run, every key set)",
        measured: `${lostTotal} lost`,
        met: lostTotal === 0,
      },
    ];
    if (hot4) {
      targets.unshift({
        kind: "speed",
        text: "4 processes on one hot key keep ≥ 50% of single-process goodput",
        measured: `${(hot4.ratio!.median * 100).toFixed(0)}%`,
        met: hot4.ratio!.median >= 0.5,
      });
    }
    return {
      figures,
      targets,
      notes: [
        `Each run: ${durationMs} ms after every process has opened the store; goodput counts acknowledged commits only. Durability normal (WAL, synchronous=NORMAL).`,
        "Lost updates = acknowledged commits − the final sum of the counters (each commit adds 1); it must be 0.",
        "The machine has the cores it reports: with more processes than cores, the processes also queue for CPU.",
      ],
    };
  },
};
