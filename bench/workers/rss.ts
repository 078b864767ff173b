/**
 * The RSS worker of the scale section, in its own process so that nothing measured before (savers holding 10^5
 * checkpoints) weighs on it: `commits` sequential commits on 10,000 keys, RSS sampled every tenth, printed as
 * `{ samples (MiB), ms }`. argv: <dbPath> <commits>.
 */
import { op, openStore } from "../../src/index.js";

const [path, commits] = [process.argv[2]!, Number(process.argv[3])];
const store = await openStore({ path });
const keys = 10_000;
const versions = new Int32Array(keys);
const samples: number[] = [];
const every = Math.max(1, Math.floor(commits / 10));
const t0 = performance.now();
for (let i = 0; i < commits; i++) {
  const k = i % keys;
  versions[k] = (
    await store.commit({ key: `rss/k${k}`, op: op.set({ text: "x".repeat(100), i }), expectVersion: versions[k]! })
  ).version;
  if ((i + 1) % every === 0) samples.push(Number((process.memoryUsage.rss() / 2 ** 20).toFixed(1)));
}
const ms = performance.now() - t0;
await store.close();
process.stdout.write(`${JSON.stringify({ samples, ms })}\n`);
