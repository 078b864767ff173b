/**
 * A real OS process on a shared store (a SQLite file, or a Postgres schema), for test/process/snapshot.test.ts.
 * argv: one JSON `SnapshotWorkerConfig`. Prints `{"ready":true}`, then:
 * - `writer`: waits for `go` on stdin, then commits `txns` txns that each move an amount from `keys[0]` to `keys[1]`
 *   (both keys, both versions, move together), and prints `{ done }`;
 * - `reader`: takes snapshots (`readMany`, or `listSnapshot` with `list`) until one shows the writer's last txn, and
 *   prints what it saw: how many snapshots, how many distinct states, and every torn one (sum or versions apart).
 * Any error escapes and exits non-zero (G6).
 */
import { createInterface } from "node:readline";
import { randomInt } from "node:crypto";
import { openStore, op, type Snapshot } from "../../../src/index.js";

export interface SnapshotWorkerConfig {
  role: "writer" | "reader";
  store: { path: string } | { url: string; schema: string };
  /** Two keys under one prefix, holding `total` between them. */
  keys: [string, string];
  total: number;
  txns: number;
  /** reader: use `listSnapshot(prefix)` instead of `readMany(keys)`. */
  list?: boolean;
}

export interface ReaderReport {
  snapshots: number;
  /** Distinct versions of keys[0] seen: states between the first and the last txn were really observed. */
  states: number;
  torn: { seq: number; values: unknown[]; versions: number[] }[];
  /** Whether the seqs of successive snapshots never went back. */
  monotonic: boolean;
}

const config = JSON.parse(process.argv[2]!) as SnapshotWorkerConfig;
const store = await openStore(
  "path" in config.store ? { path: config.store.path } : { ...config.store, pool: { max: 2 } },
);
const say = (message: object) => process.stdout.write(`${JSON.stringify(message)}\n`);
const [a, b] = config.keys;
const prefix = a.slice(0, a.lastIndexOf("/") + 1);

say({ ready: true });
if (config.role === "writer") {
  const lines = createInterface({ input: process.stdin });
  await lines[Symbol.asyncIterator]().next();
  lines.close();
  for (let i = 0; i < config.txns; i++) {
    const amount = randomInt(1, 10);
    await store.txn([
      { key: a, op: op.increment(-amount) },
      { key: b, op: op.increment(amount) },
    ]);
    // A pause between txns, so that the readers run while the txns land rather than before and after a burst.
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  say({ done: config.txns });
} else {
  const report: ReaderReport = { snapshots: 0, states: 0, torn: [], monotonic: true };
  const seen = new Set<number>();
  const deadline = Date.now() + 120_000;
  let lastSeq = 0;
  for (;;) {
    const snap: Snapshot = config.list ? await store.listSnapshot(prefix) : await store.readMany([a, b]);
    const [ra, rb] = config.list
      ? [snap.records.find((r) => r.key === a)!, snap.records.find((r) => r.key === b)!]
      : snap.records;
    report.snapshots++;
    if (snap.seq < lastSeq) report.monotonic = false;
    lastSeq = snap.seq;
    seen.add(ra!.version);
    if ((ra!.value as number) + (rb!.value as number) !== config.total || ra!.version !== rb!.version) {
      report.torn.push({ seq: snap.seq, values: [ra!.value, rb!.value], versions: [ra!.version, rb!.version] });
    }
    // Version 1 is the setup txn; the writer's last txn makes it txns + 1.
    if ((ra!.version >= config.txns + 1 && rb!.version >= config.txns + 1) || Date.now() > deadline) break;
  }
  report.states = seen.size;
  say(report);
}
await store.close();
