/**
 * A claim holder that will be SIGSTOPped. argv: <dbPath> <key> <ttlMs>.
 * Claims the key, reads it, prints `{"claimed":epoch,"version":v}`, then waits for a line on stdin (sent after it
 * is continued) and commits what it computed before the stall, under its old epoch. Prints the outcome as JSON.
 */
import { createInterface } from "node:readline";
import { FencedStateError, op, openStore } from "../../../src/index.js";

const [path, key, ttlMs] = process.argv.slice(2) as [string, string, string];
const store = await openStore({ path });
const claim = await store.claim({ key, owner: `zombie-${process.pid}`, ttlMs: Number(ttlMs) });
const seen = await store.read(key);
process.stdout.write(`${JSON.stringify({ claimed: claim.epoch, version: seen.version })}\n`);
const lines = createInterface({ input: process.stdin });
for await (const _ of lines) break;
try {
  const r = await store.commit({ key, op: op.set("zombie write"), expectVersion: seen.version, epoch: claim.epoch });
  process.stdout.write(`${JSON.stringify({ outcome: "committed", version: r.version })}\n`);
} catch (err) {
  if (!(err instanceof FencedStateError)) throw err;
  process.stdout.write(`${JSON.stringify({ outcome: err.code, details: err.details })}\n`);
}
await store.close();
process.exit(0);
