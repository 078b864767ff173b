/**
 * One racer of test/core/effects.test.ts: fires the effect `--op-id` through `store.effect`; the effect appends the
 * opId to `--log` (so the test counts real firings across processes) and takes a moment, so a racer that comes
 * second finds the intent pending. Prints one JSON line: `{ fired, status }`.
 */
import { appendFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { openStore } from "../../src/index.js";
import { sleep } from "../../src/core/retry.js";

const { values } = parseArgs({
  options: {
    db: { type: "string" },
    url: { type: "string" },
    schema: { type: "string" },
    "op-id": { type: "string" },
    log: { type: "string" },
  },
});
const opId = values["op-id"]!;
const store = await openStore(values.url ? { url: values.url, schema: values.schema! } : { path: values.db! });
try {
  const r = await store.effect({
    opId,
    owner: `pid-${process.pid}`,
    run: async () => {
      appendFileSync(values.log!, `${opId}\n`);
      await sleep(100);
      return process.pid;
    },
  });
  process.stdout.write(`${JSON.stringify({ fired: r.fired, status: r.status })}\n`);
} finally {
  await store.close();
}
