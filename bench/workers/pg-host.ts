/**
 * A Postgres host for the multi-host figure: its own process, `StateStore` and pool on a shared schema. Prints
 * `{"ready":true}`, waits for a line on stdin (the common start), runs `lanes` concurrent writers of fenced commits
 * (set with expectVersion, each lane on its own keys) for `durationMs`, then prints `{ commits }`.
 * argv: <url> <schema> <hostId> <lanes> <durationMs>.
 */
import { createInterface } from "node:readline";
import { op, openStore } from "../../src/index.js";

const [url, schema, hostId, lanesArg, durationArg] = process.argv.slice(2) as [string, string, string, string, string];
const lanes = Number(lanesArg);
const store = await openStore({ url, schema, pool: { max: lanes } });
const stdin = createInterface({ input: process.stdin });
const go = new Promise<void>((resolve) => stdin.once("line", () => resolve()));
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
await go;
stdin.close();
const end = performance.now() + Number(durationArg);
let commits = 0;
await Promise.all(
  Array.from({ length: lanes }, async (_, lane) => {
    const versions = new Map<string, number>();
    for (let i = 0; performance.now() < end; i++) {
      const key = `hosts/${hostId}/l${lane}/k${i % 50}`;
      const r = await store.commit({
        key,
        op: op.set({ text: "x".repeat(100), i }),
        expectVersion: versions.get(key) ?? 0,
      });
      versions.set(key, r.version);
      commits++;
    }
  }),
);
await store.close();
process.stdout.write(`${JSON.stringify({ commits })}\n`);
