/**
 * Scale, on one thread: the cost of one `commit` as the store grows from 10^3 to 10^6 keys; the cost of `getTuple`
 * (latest) as one LangGraph thread grows from 10^3 to 10^6 checkpoints, for each saver; and the process's RSS across
 * 10^6 commits. Each cost sits next to the same operation's cost at the smallest size (ratio = growth). Target
 * (issue 9): flat or logarithmic — at most log(n)/log(n₀) times the smallest size's cost.
 */
import { join } from "node:path";
import Database from "better-sqlite3";
import { op, openStore, type StateStore } from "../../src/index.js";
import { figure, stats, type Figure, type Target } from "../report.js";
import { checkpointStep, openSaver, putChain, SAVER_NAMES, threadConfig, type OpenSaver } from "../savers.js";
import { spawnWorker } from "../../test/support/processes.js";
import type { ProgressBar } from "../progress.js";
import { bySize, type Section, type SectionContext, type Size } from "../section.js";

const sizes = (size: Size) =>
  bySize(size, {
    full: {
      keyLevels: [1e3, 1e4, 1e5, 1e6],
      checkpointLevels: [1e3, 1e4, 1e5, 1e6],
      rssCommits: 1e6,
      rounds: 5,
      samples: 2000,
      budgetMs: 300,
    },
    quick: {
      keyLevels: [1e3, 1e4, 1e5],
      checkpointLevels: [1e3, 1e4],
      rssCommits: 1e5,
      rounds: 3,
      samples: 1000,
      budgetMs: 100,
    },
    tiny: {
      keyLevels: [100, 1000],
      checkpointLevels: [100, 300],
      rssCommits: 2000,
      rounds: 1,
      samples: 100,
      budgetMs: 10,
    },
  });
/** MemorySaver keeps every checkpoint in this process; past this many its latest lookup takes seconds a call. */
const MEMORY_SAVER_MAX = 1e5;
const CHECKPOINT_BYTES = 200;
const BATCH = 1000;
const VALUE = { text: "x".repeat(100) };

/** Grows a store with txns of 1,000 new keys (through the core, like any writer). */
async function growKeys(store: StateStore, from: number, to: number): Promise<void> {
  for (let k = from; k < to; k += BATCH) {
    const n = Math.min(BATCH, to - k);
    await store.txn(
      Array.from({ length: n }, (_, i) => ({ key: `scale/k${k + i}`, op: op.set(VALUE), expectVersion: 0 })),
    );
  }
}

/** µs per call of `body`, for at least `minCalls` calls and `budgetMs` of time. */
async function microsPerCall(body: () => Promise<unknown>, minCalls: number, budgetMs: number): Promise<number> {
  const t0 = performance.now();
  let calls = 0;
  while (calls < minCalls || performance.now() - t0 < budgetMs) {
    await body();
    calls++;
  }
  return ((performance.now() - t0) * 1000) / calls;
}

/** How long `settleWal` waits for the WAL to be checkpointed before the section fails. */
const SETTLE_DEADLINE_MS = 60_000;

/**
 * Waits until the store's WAL is checkpointed and truncated (from a connection of its own, while the store is idle):
 * growing a store by 1,000-key txns back to back leaves a WAL of hundreds of MiB that its checkpoint thread is still
 * copying, and the first commits timed after it paid for that copy (a round of 250 µs/commit at 10^6 keys), not for
 * the store's size. Each level is timed from a checkpointed WAL instead. A WAL still busy after
 * `SETTLE_DEADLINE_MS` (another process on the file) fails the section instead of hanging it.
 */
async function settleWal(path: string): Promise<void> {
  const db = new Database(path);
  const deadline = performance.now() + SETTLE_DEADLINE_MS;
  try {
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const [report] = db.pragma("wal_checkpoint(TRUNCATE)") as { busy: number }[];
      if (report?.busy === 0) return;
      if (performance.now() > deadline) {
        throw new Error(`scale: the WAL of ${path} stayed busy for ${SETTLE_DEADLINE_MS / 1000} s; nothing was timed`);
      }
    }
  } finally {
    db.close();
  }
}

async function keyScale(ctx: SectionContext): Promise<Figure[]> {
  const { keyLevels, rounds, samples } = sizes(ctx.size);
  const path = join(ctx.tempDir(), "keys.db");
  const store = await openStore({ path });
  const versions = new Map<number, number>();
  const costs = keyLevels.map(() => [] as number[]);
  let have = 0;
  for (const [li, level] of keyLevels.entries()) {
    ctx.progress.status(`scale: growing to ${level.toLocaleString("en-US")} keys`);
    await growKeys(store, have, level);
    await settleWal(path);
    have = level;
    for (let r = 0; r < rounds; r++) {
      const keys = Array.from({ length: samples }, () => Math.floor(Math.random() * level));
      const t0 = performance.now();
      for (const k of keys) {
        const v = versions.get(k) ?? 1;
        const res = await store.commit({ key: `scale/k${k}`, op: op.set(VALUE), expectVersion: v });
        versions.set(k, res.version);
      }
      costs[li]!.push(((performance.now() - t0) * 1000) / samples);
    }
    ctx.progress.step(`scale: ${level.toLocaleString("en-US")} keys`);
  }
  await store.close();
  return keyLevels.map((level, li) =>
    figure(
      `commit at ${level.toLocaleString("en-US")} keys`,
      "µs/commit",
      { name: "StateStore.commit", rounds: costs[li]! },
      {
        name: `at ${keyLevels[0]!.toLocaleString("en-US")} keys`,
        rounds: costs[0]!,
      },
      {
        higherIsBetter: false,
        details: { "log bound": Number((Math.log(level) / Math.log(keyLevels[0]!)).toFixed(2)) },
      },
    ),
  );
}

async function checkpointScale(ctx: SectionContext): Promise<Figure[]> {
  const { checkpointLevels, rounds, budgetMs } = sizes(ctx.size);
  const figures: Figure[] = [];
  for (const name of SAVER_NAMES) {
    const saver: OpenSaver = await openSaver(name, ctx.tempDir());
    const costs: number[][] = [];
    const levels = checkpointLevels.filter((l) => name !== "MemorySaver" || l <= MEMORY_SAVER_MAX);
    let have = 0;
    let parent = threadConfig("scale");
    for (const level of levels) {
      ctx.progress.status(`scale: ${name}, growing to ${level.toLocaleString("en-US")} checkpoints`);
      const steps = Array.from({ length: level - have }, (_, i) => checkpointStep(have + i, CHECKPOINT_BYTES));
      // The chain continues from the last put: every put is a child of the head, as in a running graph.
      for (let i = 0; i < steps.length; i += BATCH) {
        const chunk = steps.slice(i, i + BATCH);
        const configs = await putChain(saver.saver, parent, chunk);
        parent = configs[configs.length - 1]!;
      }
      have = level;
      const latest = threadConfig("scale");
      const round: number[] = [];
      for (let r = 0; r < rounds; r++) round.push(await microsPerCall(() => saver.saver.getTuple(latest), 3, budgetMs));
      costs.push(round);
      ctx.progress.step(`scale: ${name}, ${level.toLocaleString("en-US")} checkpoints`);
    }
    for (let i = levels.length; i < checkpointLevels.length; i++) ctx.progress.step(`scale: ${name} skipped`);
    await saver.close();
    levels.forEach((level, li) => {
      figures.push(
        figure(
          `getTuple (latest) at ${level.toLocaleString("en-US")} checkpoints`,
          "µs/call",
          { name, rounds: costs[li]! },
          {
            name: `at ${levels[0]!.toLocaleString("en-US")} checkpoints`,
            rounds: costs[0]!,
          },
          {
            higherIsBetter: false,
            details: { "log bound": Number((Math.log(level) / Math.log(levels[0]!)).toFixed(2)) },
          },
        ),
      );
    });
  }
  return figures;
}

/** RSS (MiB) of a fresh process making `commits` sequential commits, sampled every tenth (bench/workers/rss.ts). */
async function rssAcrossCommits(
  dir: string,
  commits: number,
  progress: ProgressBar,
): Promise<{ samples: number[]; ms: number }> {
  progress.status(`scale: RSS across ${commits.toLocaleString("en-US")} commits (own process)`);
  const worker = spawnWorker("bench/workers/rss.ts", [join(dir, "rss.db"), String(commits)]);
  try {
    const result = await worker.nextJson<{ samples: number[]; ms: number }>();
    for (let i = 0; i < 10; i++) progress.step("scale: RSS");
    return result;
  } finally {
    worker.child.kill("SIGKILL");
  }
}

export const scaleSection: Section = {
  name: "scale",
  title: "Scale: cost per operation as keys and checkpoints grow (one thread), RSS across many commits",
  steps: (size) => sizes(size).keyLevels.length + sizes(size).checkpointLevels.length * SAVER_NAMES.length + 10,
  async run(ctx) {
    const { rssCommits } = sizes(ctx.size);
    const keyFigures = await keyScale(ctx);
    const checkpointFigures = await checkpointScale(ctx);
    const rss = await rssAcrossCommits(ctx.tempDir(), rssCommits, ctx.progress);
    const rssFigure = figure(
      `RSS after ${rssCommits.toLocaleString("en-US")} commits`,
      "MiB",
      { name: "a committing process", rounds: [rss.samples[rss.samples.length - 1]!] },
      { name: `after ${(rssCommits / 10).toLocaleString("en-US")} commits`, rounds: [rss.samples[0]!] },
      {
        higherIsBetter: false,
        details: {
          "max MiB": Number(Math.max(...rss.samples).toFixed(1)),
          "commits/s": Math.round(rssCommits / (rss.ms / 1000)),
        },
      },
    );
    const targets: Target[] = [];
    const last = (fs: Figure[], subject: string) => fs.filter((f) => f.subject.name === subject).at(-1);
    const bounded = (f: Figure | undefined, what: string) => {
      if (!f) return;
      const bound = Number(f.details!["log bound"]);
      targets.push({
        kind: "speed",
        text: `${what}: flat or logarithmic (growth ≤ ${bound.toFixed(2)}×, log n / log n₀)`,
        measured: `${f.ratio!.median.toFixed(2)}× at ${f.name.replace(/^.* at /, "")}`,
        met: f.ratio!.median <= bound,
      });
    };
    bounded(last(keyFigures, "StateStore.commit"), "commit cost");
    // The official savers' growth is shown for comparison; the target is ours.
    bounded(last(checkpointFigures, "FencedCheckpointSaver"), "FencedCheckpointSaver getTuple (latest)");
    const growth = rss.samples[rss.samples.length - 1]! - rss.samples[0]!;
    targets.push({
      kind: "speed",
      text: "RSS does not grow across the commits beyond the SQLite page cache (growth after the first tenth ≤ 32 MiB)",
      measured: `${growth >= 0 ? "+" : ""}${growth.toFixed(1)} MiB (${stats(rss.samples).min.toFixed(0)}–${stats(rss.samples).max.toFixed(0)} MiB)`,
      met: growth <= 32,
    });
    return {
      figures: [...keyFigures, ...checkpointFigures, rssFigure],
      targets,
      notes: [
        "Commit cost: random existing keys, `set` with expectVersion; keys are added in txns of 1,000 between levels, and each level is timed once the WAL those txns left is checkpointed (the first commits after ~250 MiB of growth otherwise pay for copying it: a round of ~250 µs/commit at 10^6 keys).",
        `getTuple cost: one thread of chained checkpoints (~${CHECKPOINT_BYTES} B each); the official MemorySaver sorts all of a thread's checkpoints on every latest lookup, so it is measured only up to ${MEMORY_SAVER_MAX.toLocaleString("en-US")}.`,
        "log bound = log n / log n₀: the growth a B-tree lookup may show; a ratio at or under it is flat or logarithmic.",
        "RSS: a fresh process (bench/workers/rss.ts) making sequential commits on 10,000 keys with the default retention (100,000 events; SQLite page cache 2 MiB).",
      ],
    };
  },
};
