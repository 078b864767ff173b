/**
 * A real OS process that adds 1 to a counter `count` times with `update()` on a shared SQLite file.
 * argv: <dbPath> <key> <count> [pauseMs]. Prints one JSON line `{ done, retries }`; any error escapes and exits non-zero (G6).
 */
import { openStore } from "../../../src/index.js";

const [path, key, count, pauseMs = "0"] = process.argv.slice(2) as [string, string, string, string?];
const store = await openStore({ path });
let retries = 0;
for (let i = 0; i < Number(count); i++) {
  const r = await store.update(key, (n) => ((n as number | undefined) ?? 0) + 1, {
    owner: `pid-${process.pid}`,
    retries: 1000,
  });
  retries += r.attempts - 1;
  // Load generators pause between writes: a tight loop would monopolise SQLite's one write lock.
  if (Number(pauseMs) > 0) await new Promise((resolve) => setTimeout(resolve, Number(pauseMs)));
}
await store.close();
process.stdout.write(`${JSON.stringify({ done: Number(count), retries })}\n`);
