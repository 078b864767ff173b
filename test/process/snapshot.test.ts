/**
 * Snapshot reads across real OS processes (docs/snapshots.md): a writer process commits txns that move an amount
 * between two keys (both versions move together) while reader processes take `readMany` and `listSnapshot`
 * snapshots, on one SQLite file and on one Postgres schema. A torn snapshot (one key after a txn, the other before)
 * would break the sum or set the versions apart; none may.
 */
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openStore, op } from "../../src/index.js";
import { dropTestSchemas, postgresUrl, tempDir, testSchemaName } from "../support/backends.js";
import { spawnWorker } from "../support/processes.js";
import type { ReaderReport, SnapshotWorkerConfig } from "./workers/snapshot-worker.js";

const WORKER = "test/process/workers/snapshot-worker.ts";
const TXNS = 300;
const TOTAL = 100;
const tmp = tempDir();
const schemas: string[] = [];
afterAll(async () => {
  tmp.remove();
  if (schemas.length > 0) await dropTestSchemas(postgresUrl(), schemas);
});

const stores: [string, () => SnapshotWorkerConfig["store"]][] = [
  ["one SQLite file", () => ({ path: join(tmp.dir, `snap-${Date.now()}.db`) })],
  [
    "one Postgres schema",
    () => {
      const schema = testSchemaName();
      schemas.push(schema);
      return { url: postgresUrl(), schema };
    },
  ],
];

for (const [where, storeConfig] of stores) {
  describe(`snapshot reads across OS processes on ${where}`, () => {
    it(`a writer process's ${TXNS} two-key txns are never seen in part by reader processes' readMany and listSnapshot`, {
      timeout: 120_000,
    }, async () => {
      const store = storeConfig();
      const keys: [string, string] = ["bank/a", "bank/b"];
      const setup = await openStore(store);
      await setup.txn([
        { key: keys[0], op: op.set(TOTAL) },
        { key: keys[1], op: op.set(0) },
      ]);
      await setup.close();

      const base = { store, keys, total: TOTAL, txns: TXNS };
      const readers = [false, true].map((list) =>
        spawnWorker(WORKER, [JSON.stringify({ ...base, role: "reader", list })]),
      );
      const writer = spawnWorker(WORKER, [JSON.stringify({ ...base, role: "writer" })]);
      for (const w of [...readers, writer]) expect(await w.nextJson()).toEqual({ ready: true });
      writer.child.stdin.end("go\n");

      expect(await writer.nextJson()).toEqual({ done: TXNS });
      const reports = await Promise.all(readers.map((r) => r.nextJson<ReaderReport>()));
      for (const w of [...readers, writer]) {
        const exit = await w.exited;
        expect(exit, exit.stderr).toMatchObject({ code: 0 });
      }
      for (const report of reports) {
        expect(report.torn).toEqual([]);
        expect(report.monotonic).toBe(true);
        expect(report.snapshots).toBeGreaterThan(0);
      }
      // The readers saw states between the first and the last txn, not only the two ends.
      expect(Math.max(...reports.map((r) => r.states))).toBeGreaterThan(2);
    });
  });
}
