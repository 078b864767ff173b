/**
 * HTTP: commits per second through the coordinator (`fenced serve`, its own process) over loopback, driven by
 * autocannon with 16 keep-alive connections, next to 16 concurrent in-process callers of `store.commit` on the same
 * op mix in the same round; then the latency at half the measured maximum rate. Targets (issue 9): ≥ 10,000
 * commits/s, p99 < 10 ms at half that load.
 */
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import autocannon from "autocannon";
import { op, openStore } from "../../src/index.js";
import { startCoordinator } from "../coordinator.js";
import { pacedLoad } from "../paced-http.js";
import { figure, quantile, stats, type Figure, type Target } from "../report.js";
import { bySize, type Section, type Size } from "../section.js";

const CONNECTIONS = 16;
const KEYS = 1_000;

const sizes = (size: Size) =>
  bySize(size, {
    full: { seconds: 5, rounds: 3, warmup: 5_000 },
    quick: { seconds: 2, rounds: 3, warmup: 2_000 },
    tiny: { seconds: 0.5, rounds: 1, warmup: 100 },
  });

/** An increment of a random key with a fresh opId: what the Python client sends for a commit. */
const commitBody = () => ({ key: `bench/k${Math.floor(Math.random() * KEYS)}`, op: op.increment(1), opId: randomUUID() });

interface HttpRun {
  rate: number;
  p50: number;
  p99: number;
  failed: number;
}

async function drive(url: string, options: { seconds?: number; amount?: number }): Promise<HttpRun> {
  const result = await autocannon({
    url: `${url}/v1/commit`,
    connections: CONNECTIONS,
    pipelining: 1,
    ...(options.seconds !== undefined && { duration: options.seconds }),
    ...(options.amount !== undefined && { amount: options.amount }),
    requests: [
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        setupRequest: (req) => ({ ...req, body: JSON.stringify(commitBody()) }),
      },
    ],
  });
  return {
    rate: result.requests.total / (result.duration || options.seconds || 1),
    p50: result.latency.p50,
    p99: result.latency.p99,
    failed: result.non2xx + result.errors + result.timeouts,
  };
}

/** `CONNECTIONS` concurrent loops of `store.commit` in this process for `seconds`. */
async function inProcess(path: string, seconds: number): Promise<{ rate: number; p50: number; p99: number }> {
  const store = await openStore({ path });
  const latencies: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < deadline) {
        const s = performance.now();
        await store.commit(commitBody());
        latencies.push(performance.now() - s);
      }
    }),
  );
  const rate = latencies.length / ((performance.now() - t0) / 1000);
  await store.close();
  latencies.sort((a, b) => a - b);
  return { rate, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99) };
}

export const httpSection: Section = {
  name: "http",
  title: "HTTP coordinator: commits over loopback (autocannon, keep-alive) vs in-process",
  steps: (size) => sizes(size).rounds,
  async run(ctx) {
    const { seconds, rounds, warmup } = sizes(ctx.size);
    const max: HttpRun[] = [];
    const half: HttpRun[] = [];
    const local: { rate: number; p50: number; p99: number }[] = [];
    for (let r = 0; r < rounds; r++) {
      const dir = ctx.tempDir();
      ctx.progress.status(`http: round ${r + 1}/${rounds}, max rate`);
      const coordinator = await startCoordinator(join(dir, "http.db"));
      try {
        await drive(coordinator.url, { amount: warmup });
        const m = await drive(coordinator.url, { seconds });
        max.push(m);
        ctx.progress.status(`http: round ${r + 1}/${rounds}, half load`);
        half.push(await pacedLoad(`${coordinator.url}/v1/commit`, () => JSON.stringify(commitBody()), { rate: Math.max(1, m.rate / 2), seconds, connections: CONNECTIONS }));
      } finally {
        await coordinator.stop();
      }
      ctx.progress.status(`http: round ${r + 1}/${rounds}, in-process`);
      local.push(await inProcess(join(dir, "local.db"), seconds));
      ctx.progress.step(`http: round ${r + 1}/${rounds}`);
    }
    const median = (xs: number[]) => stats(xs).median;
    const failed = [...max, ...half].reduce((n, x) => n + x.failed, 0);
    const figures: Figure[] = [
      figure(
        `commits/s, ${CONNECTIONS} clients`,
        "commits/s",
        { name: "HTTP (fenced serve)", rounds: max.map((x) => x.rate) },
        { name: `in-process, ${CONNECTIONS} concurrent callers`, rounds: local.map((x) => x.rate) },
        {
          details: {
            "HTTP p50 ms": median(max.map((x) => x.p50)),
            "HTTP p99 ms": median(max.map((x) => x.p99)),
            "in-process p50 ms": Number(median(local.map((x) => x.p50)).toFixed(3)),
            "in-process p99 ms": Number(median(local.map((x) => x.p99)).toFixed(3)),
            failed,
          },
        },
      ),
      figure(
        "p99 latency at half the max rate",
        "ms",
        { name: "HTTP (fenced serve)", rounds: half.map((x) => x.p99) },
        { name: "p99 at the max rate", rounds: max.map((x) => x.p99) },
        {
          higherIsBetter: false,
          details: { "HTTP p50 ms": Number(median(half.map((x) => x.p50)).toFixed(2)), "achieved commits/s": Math.round(median(half.map((x) => x.rate))), failed },
        },
      ),
    ];
    const rate = figures[0]!.subject.stats.median;
    const p99 = figures[1]!.subject.stats.median;
    const targets: Target[] = [
      { kind: "speed", text: "≥ 10,000 commits/s over HTTP", measured: `${Math.round(rate).toLocaleString("en-US")} commits/s`, met: rate >= 10_000 },
      { kind: "speed", text: "p99 < 10 ms at half the max load", measured: `${p99.toFixed(2)} ms`, met: p99 < 10 },
      { kind: "safety", text: "zero failed requests (non-2xx, errors, timeouts)", measured: `${failed} failed`, met: failed === 0 },
    ];
    return {
      figures,
      targets,
      notes: [
        `Each request: POST /v1/commit, an increment of one of ${KEYS.toLocaleString("en-US")} keys with a fresh opId (what the Python client sends), JSON, keep-alive, no pipelining; SQLite durability normal.`,
        "The coordinator runs in its own process and autocannon in the benchmark's: on a 2-core machine the load generator takes one of the two cores the server could use.",
        "Half load: an open-loop generator (bench/paced-http.ts) sends at half the max rate of the same round on 16 keep-alive connections; each latency counts from the moment its request was due. (autocannon's own rate limit fires each connection's per-second budget in a burst, so its percentiles at a capped rate describe bursts.)",
        "Max-rate latencies are autocannon's (ms resolution).",
      ],
    };
  },
};
