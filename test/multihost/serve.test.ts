/**
 * Three `fenced serve --url postgres://…` coordinator processes on one PostgreSQL database (loopback ports), with
 * HTTP clients spread over them: concurrent read-modify-write increments, two-key txns and claim/steal rounds end
 * with exact totals (G1, G4), fenced writes never land (G2), and a zombie that claimed through one coordinator is
 * FENCED through another after a third one stole its claim. The coordinators also start at once on an empty
 * database, so their migrations race.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { spawn, type ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore, type StateStore } from "../../src/index.js";
import { sleep } from "../../src/core/retry.js";
import { postgresUrl, withPgClient } from "../support/backends.js";
import { ROOT } from "../support/processes.js";

const SERVERS = 3;
const LANES_PER_SERVER = 2;
const PER_LANE = { increments: 8, txns: 8, claims: 10 };
/** Several processes on a shared 2-core CI box: generous, so a loaded machine slows the test down but never fails it. */
const MULTI_PROCESS_TIMEOUT_MS = 180_000;

const adminUrl = postgresUrl();
const database = `fenced_test_db_${Math.floor(Date.now() / 1000)}_${randomBytes(4).toString("hex")}`;
const dbUrl = Object.assign(new URL(adminUrl), { pathname: `/${database}` }).toString();
const servers: { child: ChildProcess; url: string }[] = [];
let store: StateStore;

/** `fenced serve --url` as a real process; resolves with its base URL once it listens. */
function serve(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "src/cli/main.ts", "serve", "--port", "0", "--url", dbUrl],
    {
      cwd: ROOT,
      stdio: "pipe",
    },
  );
  let stdout = "";
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => {
      stdout += d.toString();
      const m = /listening on (http:\/\/\S+) \(postgres\)/.exec(stdout);
      if (m) resolve({ child, url: m[1]! });
    });
    child.on("exit", (code) => reject(new Error(`fenced serve exited (${code}) before listening: ${stderr}`)));
  });
}

interface Answer {
  status: number;
  body: { error?: { code: string; details: Record<string, unknown> } } & Record<string, unknown>;
}

async function call(base: string, path: string, body: object): Promise<Answer> {
  const res = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Answer["body"] };
}

/** POSTs, retrying UNAVAILABLE (503: outcome unknown) with the same body, i.e. the same opId, as a client should. */
async function callRetrying(base: string, path: string, body: object): Promise<Answer> {
  for (let attempt = 0; ; attempt++) {
    const answer = await call(base, path, body);
    if (answer.status !== 503 || attempt >= 5) return answer;
    await sleep(50 * 2 ** attempt);
  }
}

function expectOk(answer: Answer): Answer["body"] {
  if (answer.status !== 200) throw new Error(`HTTP ${answer.status}: ${JSON.stringify(answer.body)}`);
  return answer.body;
}

/** `update()` over HTTP: read, commit with expectVersion, re-read on VERSION_CONFLICT. Returns the attempts. */
async function incrementOver(base: string, key: string): Promise<number> {
  for (let attempt = 1; attempt <= 500; attempt++) {
    const read = expectOk(await call(base, "/v1/read", { key })) as {
      exists: boolean;
      value?: number;
      version: number;
    };
    const next = (read.exists ? read.value! : 0) + 1;
    const answer = await callRetrying(base, "/v1/commit", {
      key,
      op: { type: "set", value: next },
      expectVersion: read.version,
      opId: randomUUID(),
    });
    if (answer.status === 200) return attempt;
    if (answer.body.error?.code !== "VERSION_CONFLICT") expectOk(answer);
    await sleep(Math.random() * Math.min(50, 2 * 2 ** attempt));
  }
  throw new Error(`increment of ${key} did not land in 500 attempts`);
}

beforeAll(async () => {
  await withPgClient((c) => c.query(`CREATE DATABASE ${database}`));
  // All three start at once on the empty database: their schema migrations race (under an advisory lock).
  servers.push(...(await Promise.all(Array.from({ length: SERVERS }, serve))));
  store = await openStore({ url: dbUrl, pool: { max: 2 } });
}, MULTI_PROCESS_TIMEOUT_MS);

afterAll(async () => {
  await store?.close();
  await Promise.all(
    servers.splice(0).map(({ child }) => {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      return exited;
    }),
  );
  await withPgClient((c) => c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
});

describe("fenced serve --url: three coordinators on one PostgreSQL", () => {
  it(
    "G1/G2/G4: clients spread over the coordinators end with exact totals, and no fenced write lands",
    async () => {
      const lanes = servers.flatMap((s, i) =>
        Array.from({ length: LANES_PER_SERVER }, (_, l) => ({ base: s.url, owner: `client-${i}-${l}` })),
      );
      const acked: { owner: string; round: number; epoch: number }[] = [];
      let fenced = 0;
      let conflicts = 0;
      await Promise.all(
        lanes.map(async ({ base, owner }) => {
          for (let i = 0; i < PER_LANE.increments; i++) conflicts += (await incrementOver(base, "mh/counter")) - 1;
          for (let i = 0; i < PER_LANE.txns; i++) {
            const keys = Math.random() < 0.5 ? ["mh/a", "mh/b"] : ["mh/b", "mh/a"];
            const requests = keys.map((key) => ({ key, op: { type: "increment", by: 1 } }));
            expectOk(await callRetrying(base, "/v1/txn", { requests, opId: randomUUID() }));
          }
          for (let round = 0; round < PER_LANE.claims; round++) {
            const claim = expectOk(
              await call(base, "/v1/claim", { key: "mh/job", owner, ttlMs: 10_000, steal: true }),
            ) as { epoch: number };
            await sleep(Math.random() * 3); // another client, through another coordinator, may steal the job meanwhile
            const entry = { owner, round, epoch: claim.epoch };
            const answer = await callRetrying(base, "/v1/commit", {
              key: "mh/job",
              op: { type: "append", items: [entry] },
              epoch: claim.epoch,
              owner,
              opId: randomUUID(),
            });
            if (answer.status === 200) acked.push(entry);
            else if (answer.body.error?.code === "FENCED") fenced++;
            else expectOk(answer);
          }
        }),
      );

      const total = lanes.length;
      const counter = await store.read("mh/counter");
      expect(counter).toMatchObject({ value: total * PER_LANE.increments, version: total * PER_LANE.increments });
      expect((await store.read("mh/a")).value).toBe(total * PER_LANE.txns);
      expect((await store.read("mh/b")).value).toBe(total * PER_LANE.txns);
      const log = ((await store.read("mh/job")).value ?? []) as typeof acked;
      const id = (e: (typeof acked)[number]) => `${e.owner}/${e.round}/${e.epoch}`;
      expect(log.map(id).sort()).toEqual(acked.map(id).sort());
      expect(acked.length + fenced).toBe(total * PER_LANE.claims);
      for (let i = 1; i < log.length; i++) expect(log[i]!.epoch).toBeGreaterThanOrEqual(log[i - 1]!.epoch);
      const jobEvents = await store.events("mh/job", { limit: 10_000 });
      expect(jobEvents.filter((e) => e.outcome === "fenced")).toHaveLength(fenced);
      console.log(
        `fenced serve ×${SERVERS} on one postgres, ${total} clients: counter ${String(counter.value)} (expected ${total * PER_LANE.increments}, ` +
          `${conflicts} VERSION_CONFLICT retries), txn keys ${String((await store.read("mh/a")).value)}/${String((await store.read("mh/b")).value)} ` +
          `(expected ${total * PER_LANE.txns} each), job appends ${acked.length} acknowledged = ${log.length} in the log, ${fenced} fenced`,
      );
    },
    MULTI_PROCESS_TIMEOUT_MS,
  );

  it("G2: a zombie that claimed through one coordinator is FENCED through another after a third stole the claim", async () => {
    const [a, b, c] = servers.map((s) => s.url) as [string, string, string];
    const zombie = expectOk(await call(a, "/v1/claim", { key: "mh/zombie", owner: "zombie", ttlMs: 60_000 })) as {
      epoch: number;
    };
    const thief = expectOk(
      await call(b, "/v1/claim", { key: "mh/zombie", owner: "thief", ttlMs: 60_000, steal: true }),
    ) as { epoch: number };
    expectOk(
      await call(b, "/v1/commit", { key: "mh/zombie", op: { type: "set", value: "thief" }, epoch: thief.epoch }),
    );
    const late = await call(c, "/v1/commit", {
      key: "mh/zombie",
      op: { type: "set", value: "zombie" },
      epoch: zombie.epoch,
    });
    expect(late.status).toBe(409);
    expect(late.body.error).toMatchObject({
      code: "FENCED",
      details: { key: "mh/zombie", heldEpoch: zombie.epoch, currentEpoch: thief.epoch, reason: "superseded" },
    });
    expect(await store.read("mh/zombie")).toMatchObject({ value: "thief", version: 1, epoch: thief.epoch });
  });
});
