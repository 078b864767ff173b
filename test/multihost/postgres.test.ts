/**
 * Several hosts on one PostgreSQL (loopback): three OS processes, each with its own `StateStore` and connection pool
 * on one shared schema, hammer the same keys at once. Totals must be exact (G1, G4), fenced writes must never land
 * and the job log's epochs never go back (G2), and a zombie host is fenced after another host steals its claim.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openStore, type StateStore } from "../../src/index.js";
import { dropTestSchemas, postgresUrl, testSchemaName } from "../support/backends.js";
import type { JobEntry, LoadReport, WorkerConfig } from "./worker.js";

const url = postgresUrl();
const workerFile = fileURLToPath(new URL("./worker.ts", import.meta.url));
const HOSTS = 3;
const LANES = 2;
const PER_LANE = { increments: 10, txns: 10, claims: 15 };
/** Three processes on a shared 2-core CI box: generous, so a loaded machine slows the test down but never fails it. */
const MULTI_PROCESS_TIMEOUT_MS = 180_000;

let schema: string;
let store: StateStore;
const children: ChildProcessWithoutNullStreams[] = [];

/** A worker process and its JSON lines. */
function startWorker(config: Omit<WorkerConfig, "url" | "schema">) {
  const child = spawn(process.execPath, ["--import", "tsx", workerFile, JSON.stringify({ ...config, url, schema })], {
    cwd: fileURLToPath(new URL("../..", import.meta.url)),
    env: { ...process.env, FENCED_PG_URL: url },
  });
  children.push(child);
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
  const messages = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<Record<string, unknown>> => {
    const line = await messages.next();
    if (line.done) throw new Error(`worker ${config.id} exited (${await exited}) before answering: ${stderr}`);
    return JSON.parse(line.value) as Record<string, unknown>;
  };
  return { child, next, exited, go: () => child.stdin.write("go\n") };
}

beforeEach(async () => {
  schema = testSchemaName();
  store = await openStore({ url, schema, pool: { max: 2 } });
});

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill("SIGKILL");
  await store.close();
  await dropTestSchemas(url, [schema]);
});

describe("multi-host on one PostgreSQL", () => {
  it(
    "G1/G2/G4: three processes incrementing, transacting and stealing claims end with exact totals",
    async () => {
      const workers = Array.from({ length: HOSTS }, (_, i) =>
        startWorker({ role: "load", id: `host-${i}`, lanes: LANES, ...PER_LANE }),
      );
      for (const w of workers) expect(await w.next()).toHaveProperty("ready");
      for (const w of workers) w.go();
      const reports: LoadReport[] = [];
      for (const w of workers) reports.push(((await w.next()) as { done: LoadReport }).done);
      for (const w of workers) expect(await w.exited).toBe(0);

      expect(reports.flatMap((r) => r.errors)).toEqual([]);
      const lanes = HOSTS * LANES;
      // G1: every update() increment is in the counter, and every version is one commit.
      const counter = await store.read("mh/counter");
      expect(reports.reduce((n, r) => n + r.increments, 0)).toBe(lanes * PER_LANE.increments);
      expect(counter).toMatchObject({ value: lanes * PER_LANE.increments, version: lanes * PER_LANE.increments });
      const counterEvents = await store.events("mh/counter", { limit: 10_000 });
      expect(counterEvents.filter((e) => e.outcome === "committed")).toHaveLength(lanes * PER_LANE.increments);
      // G4: both keys of every two-key txn moved together.
      expect((await store.read("mh/a")).value).toBe(lanes * PER_LANE.txns);
      expect((await store.read("mh/b")).value).toBe(lanes * PER_LANE.txns);

      // G2: the job log holds exactly the acknowledged appends — no fenced one — in non-decreasing epoch order.
      const log = ((await store.read("mh/job")).value ?? []) as unknown as JobEntry[];
      const acked = reports.flatMap((r) => r.acked);
      const fenced = reports.reduce((n, r) => n + r.fenced, 0);
      const id = (e: JobEntry) => `${e.worker}/${e.round}/${e.epoch}`;
      expect(log.map(id).sort()).toEqual(acked.map(id).sort());
      expect(acked.length + fenced).toBe(lanes * PER_LANE.claims);
      for (let i = 1; i < log.length; i++) expect(log[i]!.epoch).toBeGreaterThanOrEqual(log[i - 1]!.epoch);
      const jobEvents = await store.events("mh/job", { limit: 10_000 });
      // Every grant took a new store-wide epoch (a sequence may skip numbers, never repeat one); the last grant holds.
      const grants = jobEvents.filter((e) => e.outcome === "claimed").map((e) => e.epoch);
      expect(grants).toHaveLength(lanes * PER_LANE.claims);
      expect(new Set(grants).size).toBe(grants.length);
      expect((await store.currentClaim("mh/job"))?.epoch).toBe(Math.max(...grants));
      expect(jobEvents.filter((e) => e.outcome === "fenced")).toHaveLength(fenced);
      console.log(
        `multi-host totals: ${HOSTS} processes × ${LANES} lanes — counter ${String(counter.value)} (expected ${lanes * PER_LANE.increments}), ` +
          `txn keys ${String((await store.read("mh/a")).value)}/${String((await store.read("mh/b")).value)} (expected ${lanes * PER_LANE.txns} each), ` +
          `job appends ${acked.length} acknowledged = ${log.length} in the log, ${fenced} fenced, ${lanes * PER_LANE.claims} claims; ` +
          `${reports.reduce((n, r) => n + r.unavailableRetries, 0)} UNAVAILABLE retried with the same opId`,
      );
    },
    MULTI_PROCESS_TIMEOUT_MS,
  );

  it("G2: a zombie host whose claim another host stole is FENCED, and its write never lands", async () => {
    const zombie = startWorker({ role: "zombie", id: "zombie-host" });
    const { claimed } = (await zombie.next()) as { claimed: { epoch: number } };
    // This test process is the other host: it steals the key and writes under the new epoch.
    const stolen = await store.claim({ key: "mh/zombie", owner: "thief-host", ttlMs: 60_000, steal: true });
    await store.commit({ key: "mh/zombie", op: { type: "set", value: "thief" }, epoch: stolen.epoch });
    zombie.go();
    const { done } = (await zombie.next()) as { done: { error?: { code: string; details: Record<string, unknown> } } };
    expect(await zombie.exited).toBe(0);
    expect(done.error).toMatchObject({
      code: "FENCED",
      details: { key: "mh/zombie", heldEpoch: claimed.epoch, currentEpoch: stolen.epoch, reason: "superseded" },
    });
    expect(await store.read("mh/zombie")).toMatchObject({ value: "thief", version: 1, epoch: stolen.epoch });
  });
});
