/**
 * Commits per second through the HTTP coordinator on loopback, next to in-process `store.commit` in the same run,
 * on the embedded SQLite default with the same op mix: increments spread over 1,000 keys, each carrying an opId
 * (what the Python client always sends). The coordinator is the real `fenced serve` in its own process; autocannon
 * drives it with keep-alive connections. Prints each rate and the ratio HTTP / in-process.
 *
 * Usage: npx tsx bench/http-quick.ts [--seconds N] [--connections N,N] [--json FILE]
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { op, openStore } from "../src/index.js";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "5" },
    connections: { type: "string", default: "16,64" },
    json: { type: "string" },
  },
});
const SECONDS = Number(values.seconds);
const CONNECTIONS = values.connections.split(",").map(Number);
const KEYS = 1_000;
const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** One request body: an increment of a random key, with a fresh opId. */
function commitBody(): { key: string; op: ReturnType<typeof op.increment>; opId: string } {
  return { key: `bench/k${Math.floor(Math.random() * KEYS)}`, op: op.increment(1), opId: randomUUID() };
}

/** `clients` concurrent loops calling `store.commit` for `SECONDS` in this process. */
async function inProcess(dir: string, clients: number): Promise<number> {
  const store = await openStore({ path: join(dir, `inproc-${clients}.db`) });
  const deadline = performance.now() + SECONDS * 1000;
  let done = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < deadline) {
        await store.commit(commitBody());
        done++;
      }
    }),
  );
  const rate = done / ((performance.now() - t0) / 1000);
  await store.close();
  return rate;
}

/** Starts `fenced serve` on its own SQLite file; resolves to its URL and a stop function. */
async function startCoordinator(db: string): Promise<{ url: string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "serve", "--port", "0", "--db", db], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on("exit", (code) => reject(new Error(`fenced serve exited (${code})`)));
  });
  return {
    url,
    stop: () =>
      new Promise((resolve) => {
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

async function overHttp(
  url: string,
  connections: number,
): Promise<{ rate: number; p50: number; p99: number; failed: number }> {
  const result = await autocannon({
    url: `${url}/v1/commit`,
    connections,
    duration: SECONDS,
    pipelining: 1,
    requests: [
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        setupRequest: (req) => ({ ...req, body: JSON.stringify(commitBody()) }),
      },
    ],
  });
  return {
    rate: result.requests.total / (result.duration || SECONDS),
    p50: result.latency.p50,
    p99: result.latency.p99,
    failed: result.non2xx + result.errors + result.timeouts,
  };
}

const dir = mkdtempSync(join(tmpdir(), "fenced-http-bench-"));
const rows: Record<string, unknown>[] = [];
try {
  for (const connections of CONNECTIONS) {
    const coordinator = await startCoordinator(join(dir, `http-${connections}.db`));
    await overHttp(coordinator.url, connections); // a discarded warm-up run (JIT, SQLite page cache)
    const http = await overHttp(coordinator.url, connections);
    await coordinator.stop();
    const local = await inProcess(dir, connections);
    const row = {
      clients: connections,
      seconds: SECONDS,
      httpCommitsPerSec: Math.round(http.rate),
      inProcessCommitsPerSec: Math.round(local),
      ratio: Number((http.rate / local).toFixed(2)),
      httpLatencyMs: { p50: http.p50, p99: http.p99 },
      httpFailed: http.failed,
    };
    rows.push(row);
    console.log(
      `${connections} clients (keep-alive, SQLite): HTTP ${row.httpCommitsPerSec} commits/s (p50 ${http.p50} ms, p99 ${http.p99} ms, ${http.failed} failed) vs in-process ${row.inProcessCommitsPerSec}/s → ${row.ratio}×`,
    );
    if (http.failed > 0) process.exitCode = 1;
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
if (values.json)
  writeFileSync(values.json, `${JSON.stringify({ date: new Date().toISOString(), results: rows }, null, 2)}\n`);
