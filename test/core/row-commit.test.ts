/**
 * The internal facet the LangGraph saver writes its checkpoint rows through (`commitWithRows`, src/core/store.ts):
 * a txn of zero or more requests under guards, whose rows are written in the same transaction only once every check
 * in `commit` has passed. Zero requests under an epoch guard is how pending writes are fenced by a run claim they do
 * not write. Run on every backend: the rows callback is where each backend's transaction is handed out.
 */
import { afterAll, describe, expect, it } from "vitest";
import { commitWithRows } from "../../src/core/store.js";
import { op } from "../../src/index.js";
import { backendFixtures } from "../support/backends.js";

for (const fixture of backendFixtures()) {
  describe(`row commits: ${fixture.name}`, () => {
    afterAll(() => fixture.cleanup());

    it("zero requests under an epoch guard: rows are written while the claim holds, FENCED and no rows after", async () => {
      const store = await fixture.open();
      const run = await store.claim({ key: "runs/t1", owner: "run-1", ttlMs: 60_000 });
      const rows: number[] = [];
      const guards = [{ key: "runs/t1", epoch: run.epoch }];
      const first = await commitWithRows(
        store,
        { requests: [], guards },
        (_tx, results) => void rows.push(results.length),
      );
      expect(first).toEqual({ results: [], replayed: false });
      expect(rows).toEqual([0]);
      await store.claim({ key: "runs/t1", owner: "run-2", ttlMs: 60_000, steal: true });
      await expect(commitWithRows(store, { requests: [], guards }, () => void rows.push(-1))).rejects.toMatchObject({
        code: "FENCED",
        details: { key: "runs/t1", heldEpoch: run.epoch, reason: "superseded" },
      });
      expect(rows).toEqual([0]);
      await store.close();
    });

    it("with requests, the rows see the commit's results, and bad input is INVALID_INPUT before anything runs", async () => {
      const store = await fixture.open();
      const seen: number[] = [];
      const { results } = await commitWithRows(
        store,
        { requests: [{ key: "head/t", op: op.set({ checkpointId: "c1" }) }], opId: "put-1" },
        (_tx, r) => void seen.push(...r.map((x) => x.version)),
      );
      expect(results).toMatchObject([{ key: "head/t", version: 1, exists: true }]);
      expect(seen).toEqual([1]);
      const bad = [
        { requests: [{ key: "", op: op.set(1) }] },
        { requests: [], guards: [{ key: "", version: 0 }] },
        { requests: [], opId: "" },
      ];
      for (const request of bad) {
        await expect(commitWithRows(store, request, () => void seen.push(-1))).rejects.toMatchObject({
          code: "INVALID_INPUT",
        });
      }
      expect(seen).toEqual([1]);
      expect(await store.events("", { fromSeq: 1 })).toHaveLength(1);
      await store.close();
    });
  });
}
