/**
 * Details of the one commit function (src/core/commit.ts) that the conformance suite does not pin down, on every
 * backend: what a replayed txn logs, which owner a guard's event names, the shape of results and events, where a key
 * problem is reported, and that an opId recorded before guards existed still replays.
 */
import { afterAll, describe, expect, it } from "vitest";
import { canonicalJson } from "../../src/backend.js";
import { payloadHash } from "../../src/core/json.js";
import { op, type StateEvent } from "../../src/index.js";
import { backendFixtures } from "../support/backends.js";

const strip = (e: StateEvent) => {
  const { seq: _seq, ts: _ts, ...rest } = e;
  return rest;
};

for (const fixture of backendFixtures()) {
  describe(`commit rules on ${fixture.name}`, () => {
    afterAll(() => fixture.cleanup());

    it("a replayed txn logs one replayed event per key, each on its own key with its own version", async () => {
      const store = await fixture.open();
      await store.commit({ key: "rp/b", op: op.set(0) });
      const requests = [
        { key: "rp/a", op: op.set(1), owner: "w" },
        { key: "rp/b", op: op.set(2), owner: "w" },
      ];
      const first = await store.txn(requests, { opId: "tx-1" });
      expect(first.results.map((r) => r.replayed)).toEqual([false, false]);
      const again = await store.txn(requests, { opId: "tx-1" });
      expect(again).toEqual({ ...first, replayed: true });
      const replayed = (await store.events("rp/", { fromSeq: 1 })).filter((e) => e.outcome === "replayed");
      expect(replayed.map(strip)).toStrictEqual([
        { key: "rp/a", version: 1, epoch: 0, owner: "w", opId: "tx-1", outcome: "replayed" },
        { key: "rp/b", version: 2, epoch: 0, owner: "w", opId: "tx-1", outcome: "replayed" },
      ]);
      await store.close();
    });

    it("a failed guard's event names the txn's writer, whichever request carries the owner", async () => {
      const store = await fixture.open();
      await store.commit({ key: "gd/g", op: op.set(1) });
      const requests = [
        { key: "gd/a", op: op.set(1) },
        { key: "gd/b", op: op.set(1), owner: "writer-2" },
      ];
      await expect(store.txn(requests, { guards: [{ key: "gd/g", version: 0 }] })).rejects.toMatchObject({
        code: "VERSION_CONFLICT",
      });
      const [conflict] = await store
        .events("gd/g", { fromSeq: 1 })
        .then((es) => es.filter((e) => e.outcome === "conflict"));
      expect(strip(conflict!)).toStrictEqual({
        key: "gd/g",
        version: 1,
        epoch: 0,
        owner: "writer-2",
        outcome: "conflict",
      });
      await store.close();
    });

    it("an event has an owner and an opId only when the commit named them", async () => {
      const store = await fixture.open();
      await store.commit({ key: "ev/plain", op: op.set(1) });
      const [plain] = await store.events("ev/plain", { fromSeq: 1 });
      expect(strip(plain!)).toStrictEqual({ key: "ev/plain", version: 1, epoch: 0, outcome: "committed" });
      await store.close();
    });

    it("a key over the configured length is reported at key in a commit and at requests.N.key in a txn", async () => {
      const store = await fixture.open({ limits: { maxKeyLength: 8 } });
      const long = "k".repeat(9);
      await expect(store.commit({ key: long, op: op.set(1) })).rejects.toMatchObject({
        details: { issues: [{ path: ["key"], message: "key longer than 8 characters" }] },
      });
      const txn = store.txn([
        { key: "short", op: op.set(1) },
        { key: long, op: op.set(1) },
      ]);
      await expect(txn).rejects.toMatchObject({ details: { issues: [{ path: ["requests", 1, "key"] }] } });
      await store.close();
    });

    it("replays an opId whose record was written before guards existed (the hash of the requests alone)", async () => {
      const store = await fixture.open();
      const request = { key: "old/k", op: op.set("v1") };
      const recorded = {
        results: [{ key: "old/k", exists: true, version: 1, epoch: 0, replayed: false, seq: 1 }],
        replayed: false,
      };
      // What an earlier version stored for this opId: the hash of the request list, no guards in it.
      expect(canonicalJson([request])).toBe('[{"key":"old/k","op":{"type":"set","value":"v1"}}]');
      await store.backend.transact(async (tx) => {
        await tx.putIdempotency({
          opId: "old-op",
          hash: payloadHash([request]),
          resultText: JSON.stringify(recorded),
          createdAt: Date.now(),
        });
      });
      expect(await store.commit({ ...request, opId: "old-op" })).toEqual({ ...recorded.results[0], replayed: true });
      expect(await store.read("old/k")).toMatchObject({ exists: false, version: 0 });
      await store.close();
    });
  });
}
