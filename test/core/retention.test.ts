/**
 * Retention runs by itself every 1,024 commits (src/core/store.ts). The commit that triggers it has landed, so a purge
 * that fails must not turn it into an error: the failure is reported as a process warning and retention is delayed.
 */
import { describe, expect, it } from "vitest";
import type { Backend } from "../../src/core/backend.js";
import { StateStore, op, openStore } from "../../src/index.js";

describe("automatic purge", () => {
  it("runs on the 1,024th commit, and a failure there is a warning, not the commit's error", async () => {
    const inner = (await openStore({ memory: true })).backend;
    let purges = 0;
    const backend: Backend = Object.assign(Object.create(inner) as Backend, {
      purge: async () => {
        purges++;
        throw new Error("disk full");
      },
    });
    const store = new StateStore(backend);
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on("warning", onWarning);
    try {
      for (let i = 0; i < 1023; i++) await store.commit({ key: `r/${i % 7}`, op: op.increment(1) });
      expect(purges).toBe(0);
      const landed = await store.commit({ key: "r/last", op: op.set(1) });
      expect(landed.version).toBe(1);
      expect(purges).toBe(1);
      await new Promise((r) => setImmediate(r));
      expect(warnings).toEqual(["fenced-state: purge failed: Error: disk full"]);
      for (let i = 0; i < 1023; i++) await store.txn([{ key: "r/t", op: op.increment(1) }]);
      expect(purges).toBe(1);
      await store.txn([{ key: "r/t", op: op.increment(1) }]);
      expect(purges).toBe(2);
      await expect(store.purge()).rejects.toThrow("disk full");
    } finally {
      process.off("warning", onWarning);
    }
  });
});
