/**
 * A contention benchmark worker: runs `update()` increments for `durationMs` on one hot key or on `keys` keys, then
 * prints `{ commits, conflicts, latenciesMs }`. argv: <dbPath> <keys> <durationMs> <startAtEpochMs>.
 */
import { openStore } from "../../src/index.js";

const [path, keys, durationMs, startAt] = process.argv.slice(2).map((a, i) => (i === 0 ? a : Number(a))) as [string, number, number, number];
const store = await openStore({ path });
await new Promise((r) => setTimeout(r, Math.max(0, startAt - Date.now())));
const end = Date.now() + durationMs;
let commits = 0;
let conflicts = 0;
const latencies: number[] = [];
while (Date.now() < end) {
  const key = `bench/${keys === 1 ? "hot" : Math.floor(Math.random() * keys)}`;
  const t0 = performance.now();
  const r = await store.update(key, (n) => ((n as number | undefined) ?? 0) + 1, { retries: 10_000 });
  latencies.push(performance.now() - t0);
  commits++;
  conflicts += r.attempts - 1;
}
await store.close();
process.stdout.write(`${JSON.stringify({ commits, conflicts, latencies })}\n`);
