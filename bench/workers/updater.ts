/**
 * A contention worker: opens the store, prints `{"ready":true}`, waits for a line on stdin (the common start), runs
 * `update()` increments for `durationMs` on one hot key or on `keys` keys, then prints
 * `{ commits, conflicts, latencies }`. argv: <dbPath> <keys> <durationMs>.
 */
import { createInterface } from "node:readline";
import { openStore } from "../../src/index.js";

const [path, keys, durationMs] = process.argv.slice(2).map((a, i) => (i === 0 ? a : Number(a))) as [
  string,
  number,
  number,
];
const store = await openStore({ path });
const stdin = createInterface({ input: process.stdin });
const go = new Promise<void>((resolve) => stdin.once("line", () => resolve()));
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
await go;
stdin.close();
const end = performance.now() + durationMs;
let commits = 0;
let conflicts = 0;
const latencies: number[] = [];
while (performance.now() < end) {
  const key = `bench/${keys === 1 ? "hot" : Math.floor(Math.random() * keys)}`;
  const t0 = performance.now();
  const r = await store.update(key, (n) => ((n as number | undefined) ?? 0) + 1, { retries: 10_000 });
  latencies.push(performance.now() - t0);
  commits++;
  conflicts += r.attempts - 1;
}
await store.close();
process.stdout.write(
  `${JSON.stringify({ commits, conflicts, latencies: latencies.map((l) => Number(l.toFixed(4))) })}\n`,
);
