/**
 * PostgreSQL (issue 18), on the FENCED_PG_URL server, every figure side by side in one run:
 * - FencedCheckpointSaver vs the official PostgresSaver on the same database (each in a fresh schema): put, getTuple
 *   (latest), list (limit 10) on ~1 KB checkpoints, and a real 3-node StateGraph `invoke` (200-byte messages), in
 *   alternating chunks; plus round trips per put (queries sent, counted on node-postgres' client) and the WAL a put
 *   writes (the server's WAL insert position over a chain of puts);
 * - fenced commits by 1, 2, 4 and 8 concurrent writers (one connection each) vs a raw conditional
 *   `UPDATE … WHERE key = $2 AND version = $3` at the same connection count, alternating;
 * - hosts: 1, 2 and 3 processes, each with its own store and pool on one schema, total commits/s.
 * Targets: every saver ratio ≥ 1.0; 8 writers ≥ 0.5× raw; 8 writers near-linear (≥ 0.5 × 8 × the 1-writer rate is
 * not asked of raw either, so the figure shown is fenced's own 8-vs-1 scaling next to raw's).
 */
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import type { RunnableConfig } from "@langchain/core/runnables";
import { Annotation, END, START, StateGraph } from "@langchain/langgraph";
import type { BaseCheckpointSaver } from "@langchain/langgraph-checkpoint";
import { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres";
import pg from "pg";
import { op, openStore } from "../../src/index.js";
import { FencedCheckpointSaver } from "../../src/langgraph/index.js";
import { queriesSentBy } from "../../test/support/pg-queries.js";
import { spawnWorker } from "../../test/support/processes.js";
import { machineBusy } from "../machine.js";
import { figure, perSecond, stats, type Figure, type Target } from "../report.js";
import { checkpointStep, putChain, threadConfig } from "../savers.js";
import { bySize, type Section, type Size } from "../section.js";

const sizes = (size: Size) =>
  bySize(size, {
    full: { ops: 600, invokes: 150, rounds: 5, commits: 2400, hostMs: 4000 },
    quick: { ops: 200, invokes: 50, rounds: 3, commits: 800, hostMs: 1500 },
    tiny: { ops: 10, invokes: 3, rounds: 1, commits: 40, hostMs: 300 },
  });
const WRITERS = [1, 2, 4, 8] as const;
const HOSTS = [1, 2, 3] as const;
const HOST_LANES = 4;
const CHUNK = 25;
const VALUE = { text: "x".repeat(100), n: 0 };
const SAVER_OPS = ["put", "getTuple latest", "list (limit 10)", "invoke (3 nodes)"] as const;
type SaverOp = (typeof SAVER_OPS)[number];

const pgUrl = (): string => {
  const url = process.env.FENCED_PG_URL;
  if (!url)
    throw new Error(
      "set FENCED_PG_URL (e.g. postgres://fenced:fenced@127.0.0.1:5432/fenced) to run the postgres section",
    );
  return url;
};
const schemaName = (what: string) => `fenced_bench_${what}_${randomBytes(4).toString("hex")}`;

async function dropSchemas(url: string, schemas: string[]): Promise<void> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
  } finally {
    await admin.end();
  }
}

/** Runs `count` calls of each body in alternating chunks (who goes first rotates); returns each body's ops/s. */
async function interleaved(count: number, bodies: ((i: number) => Promise<unknown>)[]): Promise<number[]> {
  const elapsed = bodies.map(() => 0);
  for (let from = 0, turn = 0; from < count; from += CHUNK, turn++) {
    const to = Math.min(count, from + CHUNK);
    for (let k = 0; k < bodies.length; k++) {
      const b = (k + turn) % bodies.length;
      const t0 = performance.now();
      for (let i = from; i < to; i++) await bodies[b]!(i);
      elapsed[b]! += performance.now() - t0;
    }
  }
  return elapsed.map((ms) => perSecond(count, ms));
}

/** A 3-node graph appending one 200-byte message per node, on `saver`. */
function threeNodeGraph(saver: BaseCheckpointSaver) {
  const State = Annotation.Root({
    messages: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
  });
  const message = (node: string) => `${node}: ${"m".repeat(196)}`.slice(0, 200);
  return new StateGraph(State)
    .addNode("plan", () => ({ messages: [message("plan")] }))
    .addNode("act", () => ({ messages: [message("act")] }))
    .addNode("review", () => ({ messages: [message("review")] }))
    .addEdge(START, "plan")
    .addEdge("plan", "act")
    .addEdge("act", "review")
    .addEdge("review", END)
    .compile({ checkpointer: saver });
}

interface SaverPair {
  fenced: BaseCheckpointSaver;
  official: BaseCheckpointSaver;
  close(): Promise<void>;
}

async function openPair(url: string): Promise<SaverPair> {
  const schemas = [schemaName("saver"), schemaName("official")];
  const fenced = await FencedCheckpointSaver.open({ url, schema: schemas[0]! });
  const official = PostgresSaver.fromConnString(url, { schema: schemas[1]! });
  await official.setup();
  return {
    fenced,
    official,
    async close() {
      await fenced.store.close();
      await official.end();
      await dropSchemas(url, schemas);
    },
  };
}

/** Queries sent to the server (one round trip each: node-postgres does not pipeline) by `body`. */
async function roundTrips(body: () => Promise<unknown>): Promise<number> {
  // A connection's first transaction also prepares the transaction statements, once per connection: not counted.
  return (await queriesSentBy(body, { prepares: false })).length;
}

/** One saver round: fresh schemas, every op on both savers; ops/s per op, [fenced, official]. */
async function saverRound(url: string, ops: number, invokes: number): Promise<Map<SaverOp, number[]>> {
  const pair = await openPair(url);
  const savers = [pair.fenced, pair.official];
  const out = new Map<SaverOp, number[]>();
  try {
    const steps = Array.from({ length: ops }, (_, i) => checkpointStep(i, 1024));
    const heads: RunnableConfig[] = savers.map(() => threadConfig("bench-thread"));
    out.set(
      "put",
      await interleaved(
        ops,
        savers.map((s, k) => async (i: number) => {
          heads[k] = (await putChain(s, heads[k]!, [steps[i]!]))[0]!;
        }),
      ),
    );
    const latest = threadConfig("bench-thread");
    out.set(
      "getTuple latest",
      await interleaved(
        ops,
        savers.map((s) => () => s.getTuple(latest)),
      ),
    );
    out.set(
      "list (limit 10)",
      await interleaved(
        ops,
        savers.map((s) => async () => {
          let n = 0;
          for await (const _ of s.list(latest, { limit: 10 })) n++;
          if (n !== Math.min(10, ops)) throw new Error("list returned the wrong number of checkpoints");
        }),
      ),
    );
    const graphs = savers.map(threeNodeGraph);
    out.set(
      "invoke (3 nodes)",
      await interleaved(
        invokes,
        graphs.map((g, k) => async (i: number) => {
          const r = await g.invoke({ messages: ["start"] }, { configurable: { thread_id: `invoke-${k}-${i}` } });
          if (r.messages.length !== 4) throw new Error("the graph did not run its three nodes");
        }),
      ),
    );
    return out;
  } finally {
    await pair.close();
  }
}

/** Puts in the chain whose WAL is measured (`perPutCosts`). */
const WAL_PUTS = 500;

/**
 * What one put costs each saver, [fenced, official]: round trips of one put (the 2nd of a chain, parent known) and
 * one getTuple; and the WAL a put writes, the server's insert position moved by a chain of `WAL_PUTS` ~1 KB puts
 * divided by their number (what each COMMIT waits to flush; the run is alone on the server, nothing else writes).
 */
async function perPutCosts(url: string): Promise<{ put: number[]; getTuple: number[]; walBytes: number[] }> {
  const pair = await openPair(url);
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  const insertPosition = async () =>
    (await admin.query<{ lsn: string }>("SELECT pg_current_wal_insert_lsn()::text AS lsn")).rows[0]!.lsn;
  try {
    const savers = [pair.fenced, pair.official];
    const put: number[] = [];
    const getTuple: number[] = [];
    const walBytes: number[] = [];
    for (const s of savers) {
      const [first] = await putChain(s, threadConfig("rt"), [checkpointStep(0, 1024)]);
      const step = checkpointStep(1, 1024);
      put.push(await roundTrips(() => s.put(first!, step.checkpoint, step.metadata, step.newVersions)));
      getTuple.push(await roundTrips(() => s.getTuple(threadConfig("rt"))));
      const steps = Array.from({ length: WAL_PUTS + 1 }, (_, i) => checkpointStep(i, 1024));
      const [head] = await putChain(s, threadConfig("wal"), steps.slice(0, 1));
      const from = await insertPosition();
      await putChain(s, head!, steps.slice(1));
      const moved = await admin.query<{ bytes: string }>("SELECT pg_wal_lsn_diff($1, $2)::text AS bytes", [
        await insertPosition(),
        from,
      ]);
      walBytes.push(Number(moved.rows[0]!.bytes) / WAL_PUTS);
    }
    return { put, getTuple, walBytes };
  } finally {
    await admin.end();
    await pair.close();
  }
}

/** A run's commits/s and how busy the machine's CPUs were during it (`machineBusy`). */
interface Run {
  rate: number;
  busy: number | null;
}

/** `commits` commits over `writers` lanes, each lane on its own keys. */
async function drive(
  writers: number,
  commits: number,
  commitOne: (key: string, version: number, i: number) => Promise<number>,
): Promise<Run> {
  const t0 = performance.now();
  const [, busy] = await machineBusy(() =>
    Promise.all(
      Array.from({ length: writers }, async (_, lane) => {
        const versions = new Map<string, number>();
        for (let i = lane; i < commits; i += writers) {
          const key = `bench/w${lane}/k${i % 97}`;
          versions.set(key, await commitOne(key, versions.get(key) ?? 0, i));
        }
      }),
    ),
  );
  return { rate: perSecond(commits, performance.now() - t0), busy };
}

async function fencedWriters(url: string, writers: number, commits: number): Promise<Run> {
  const schema = schemaName("writers");
  const store = await openStore({ url, schema, pool: { max: writers } });
  try {
    return await drive(
      writers,
      commits,
      async (key, version, i) =>
        (await store.commit({ key, op: op.set({ ...VALUE, n: i }), expectVersion: version })).version,
    );
  } finally {
    await store.close();
    await dropSchemas(url, [schema]);
  }
}

async function rawWriters(url: string, writers: number, commits: number): Promise<Run> {
  const schema = schemaName("raw");
  const pool = new pg.Pool({ connectionString: url, max: writers });
  try {
    await pool.query(`CREATE SCHEMA "${schema}"`);
    await pool.query(
      `CREATE TABLE "${schema}".kv (key text COLLATE "C" PRIMARY KEY, value text, version bigint NOT NULL)`,
    );
    await pool.query(
      `INSERT INTO "${schema}".kv SELECT 'bench/w' || w || '/k' || k, 'null', 0 FROM generate_series(0, ${writers - 1}) w, generate_series(0, 96) k`,
    );
    const update = {
      name: "raw_update",
      text: `UPDATE "${schema}".kv SET value = $1, version = version + 1 WHERE key = $2 AND version = $3`,
    };
    return await drive(writers, commits, async (key, version, i) => {
      const r = await pool.query({ ...update, values: [JSON.stringify({ ...VALUE, n: i }), key, version] });
      if (r.rowCount !== 1) throw new Error("lost update in the raw peer");
      return version + 1;
    });
  } finally {
    await pool.end();
    await dropSchemas(url, [schema]);
  }
}

/** The median share of the machine's CPUs busy over `runs`, e.g. "97%" ("n/a" without /proc/stat). */
function busyText(runs: readonly Run[]): string {
  const busy = runs.map((r) => r.busy).filter((b): b is number => b !== null);
  return busy.length === 0 ? "n/a" : `${(stats(busy).median * 100).toFixed(0)}%`;
}

/** Total commits/s of `hosts` processes on one schema, `HOST_LANES` writers each, for `ms`. */
async function hostsRound(url: string, hosts: number, ms: number): Promise<Run> {
  const schema = schemaName("hosts");
  const setup = await openStore({ url, schema, pool: { max: 1 } }); // migrate once, before the hosts race
  await setup.close();
  const file = fileURLToPath(new URL("../workers/pg-host.ts", import.meta.url));
  const workers = Array.from({ length: hosts }, (_, h) =>
    spawnWorker(file, [url, schema, `h${h}`, String(HOST_LANES), String(ms)]),
  );
  try {
    for (const w of workers) await w.nextJson();
    const t0 = performance.now();
    const [done, busy] = await machineBusy(() => {
      for (const w of workers) w.child.stdin.write("go\n");
      return Promise.all(workers.map((w) => w.nextJson<{ commits: number }>()));
    });
    const elapsed = performance.now() - t0;
    const rate = perSecond(
      done.reduce((n, d) => n + d.commits, 0),
      Math.max(elapsed, ms),
    );
    return { rate, busy };
  } finally {
    for (const w of workers) if (w.child.exitCode === null) w.child.kill("SIGKILL");
    await dropSchemas(url, [schema]);
  }
}

export const postgresSection: Section = {
  name: "postgres",
  title: "PostgreSQL: FencedCheckpointSaver vs the official PostgresSaver, fenced commits vs a raw UPDATE, hosts",
  steps: (size) => sizes(size).rounds * 3 + 1,
  async run(ctx) {
    const url = pgUrl();
    const { ops, invokes, rounds, commits, hostMs } = sizes(ctx.size);
    const figures: Figure[] = [];
    const targets: Target[] = [];

    const trips = await perPutCosts(url);
    ctx.progress.step("postgres: round trips");

    const saverRates = new Map<SaverOp, [number[], number[]]>(SAVER_OPS.map((o) => [o, [[], []]]));
    const writerRuns = new Map<number, [Run[], Run[]]>(WRITERS.map((w) => [w, [[], []]]));
    const hostRuns = new Map<number, Run[]>(HOSTS.map((h) => [h, []]));
    for (let r = 0; r < rounds; r++) {
      ctx.progress.status(`postgres: savers, round ${r + 1}/${rounds}`);
      for (const [o, [fenced, official]] of await saverRound(url, ops, invokes)) {
        saverRates.get(o)![0].push(fenced!);
        saverRates.get(o)![1].push(official!);
      }
      ctx.progress.step(`postgres: savers, round ${r + 1}/${rounds}`);
      ctx.progress.status(`postgres: writers, round ${r + 1}/${rounds}`);
      for (const w of WRITERS) {
        const [fenced, raw] = writerRuns.get(w)!;
        // Alternate who goes first, so a load spike does not always fall on the same side.
        if (r % 2 === 0) {
          fenced.push(await fencedWriters(url, w, commits));
          raw.push(await rawWriters(url, w, commits));
        } else {
          raw.push(await rawWriters(url, w, commits));
          fenced.push(await fencedWriters(url, w, commits));
        }
      }
      ctx.progress.step(`postgres: writers, round ${r + 1}/${rounds}`);
      ctx.progress.status(`postgres: hosts, round ${r + 1}/${rounds}`);
      for (const h of HOSTS) hostRuns.get(h)!.push(await hostsRound(url, h, hostMs));
      ctx.progress.step(`postgres: hosts, round ${r + 1}/${rounds}`);
    }

    for (const o of SAVER_OPS) {
      const [fenced, official] = saverRates.get(o)!;
      const f = figure(
        `${o}${o === "invoke (3 nodes)" ? ", 200-byte messages" : ", ~1 KB"}`,
        "ops/s",
        { name: "FencedCheckpointSaver", rounds: fenced },
        { name: "PostgresSaver", rounds: official },
        {
          details: { calls: o === "invoke (3 nodes)" ? invokes : ops },
        },
      );
      figures.push(f);
      targets.push({
        kind: "speed",
        text: `${o}: ≥ 1.0× PostgresSaver`,
        measured: `${f.ratio!.median.toFixed(2)}×`,
        met: f.ratio!.median >= 1.0,
      });
    }
    figures.push(
      figure(
        "round trips per put (2nd of a chain)",
        "queries",
        { name: "FencedCheckpointSaver", rounds: [trips.put[0]!] },
        { name: "PostgresSaver", rounds: [trips.put[1]!] },
        { higherIsBetter: false },
      ),
      figure(
        "round trips per getTuple latest",
        "queries",
        { name: "FencedCheckpointSaver", rounds: [trips.getTuple[0]!] },
        { name: "PostgresSaver", rounds: [trips.getTuple[1]!] },
        { higherIsBetter: false },
      ),
      figure(
        "WAL per put (a chain of ~1 KB puts)",
        "bytes",
        { name: "FencedCheckpointSaver", rounds: [trips.walBytes[0]!] },
        { name: "PostgresSaver", rounds: [trips.walBytes[1]!] },
        { higherIsBetter: false, details: { calls: WAL_PUTS } },
      ),
    );
    const rates = (runs: readonly Run[]) => runs.map((r) => r.rate);
    for (const w of WRITERS) {
      const [fencedRuns, rawRuns] = writerRuns.get(w)!;
      const [fenced, raw] = [rates(fencedRuns), rates(rawRuns)];
      const f = figure(
        `commits, ${w} writer${w > 1 ? "s" : ""}`,
        "commits/s",
        { name: "fenced commit", rounds: fenced },
        { name: "raw conditional UPDATE", rounds: raw },
        {
          details: {
            commits,
            "fenced ÷ its 1-writer rate": (stats(fenced).median / stats(rates(writerRuns.get(1)![0])).median).toFixed(
              2,
            ),
            "raw ÷ its 1-writer rate": (stats(raw).median / stats(rates(writerRuns.get(1)![1])).median).toFixed(2),
            "machine CPU busy, fenced": busyText(fencedRuns),
            "machine CPU busy, raw": busyText(rawRuns),
          },
        },
      );
      figures.push(f);
      if (w === 8) {
        targets.push({
          kind: "speed",
          text: "8 writers: fenced ≥ 0.5× raw UPDATE",
          measured: `${f.ratio!.median.toFixed(2)}×`,
          met: f.ratio!.median >= 0.5,
        });
      }
    }
    const one = rates(hostRuns.get(1)!);
    for (const h of HOSTS) {
      figures.push(
        figure(
          `total commits, ${h} host${h > 1 ? "s" : ""} × ${HOST_LANES} writers`,
          "commits/s",
          { name: `${h} host${h > 1 ? "s" : ""}`, rounds: rates(hostRuns.get(h)!) },
          { name: "1 host", rounds: one },
          { details: { "machine CPU busy": busyText(hostRuns.get(h)!) } },
        ),
      );
    }
    return {
      figures,
      targets,
      notes: [
        "Same PostgreSQL server and database for both savers, each in a fresh schema per round; synchronous_commit as the server has it (on: every commit waits for its WAL flush).",
        "WAL per put: how far the server's WAL insert position moved over a chain of 500 ~1 KB puts on a thread of its own, divided by 500 (each saver alone on the server meanwhile): what each put's COMMIT waits to flush.",
        "put/getTuple/list: one thread, each put the child of the previous, ~1 KB checkpoints (bench/savers.ts). invoke: a new thread per call, START → plan → act → review → END, each node appending one 200-byte message (5 checkpoints and 3 task writes a call).",
        "Round trips: queries node-postgres sent for one put and one getTuple (it sends one query at a time, so each is a round trip). A fenced put also commits the thread's head with expectVersion (G7) and its event-log row, in the same transaction.",
        `Writers: one connection per writer; each writer commits a set with expectVersion on its own 97 keys, ${commits} commits a run. Raw peer: the same conditional UPDATE through a pool of the same size, nothing else (no event log, no idempotency, no locks).`,
        `Hosts: separate OS processes, each its own store and pool of ${HOST_LANES} connections on one schema, ${HOST_LANES} writers each, ${hostMs} ms per run; ratio = total ÷ the 1-host total of the same round.`,
      ],
    };
  },
};
