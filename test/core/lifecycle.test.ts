/**
 * A store's lifecycle, the same on every backend: `close()` waits for every call issued before it (nothing issued
 * earlier is cut off), and afterwards every call gets a typed, non-retryable `CLOSED` error (G6: no call is dropped
 * or answered with a raw driver error).
 */
import { afterAll, describe, expect, it } from "vitest";
import { FencedStateError, op, type StateStore } from "../../src/index.js";
import { backendFixtures } from "../support/backends.js";

/** Every public entry point of a store, and the backend's checkpoint reads, called once each. */
function everyCall(store: StateStore): [string, () => Promise<unknown>][] {
  const claim = { key: "life/c", owner: "a", epoch: 1 };
  return [
    ["commit", () => store.commit({ key: "life/a", op: op.set(1) })],
    ["txn", () => store.txn([{ key: "life/a", op: op.set(1) }])],
    ["read", () => store.read("life/a")],
    ["list", () => store.list("life/")],
    ["readMany", () => store.readMany(["life/a", "life/b"])],
    ["listSnapshot", () => store.listSnapshot("life/")],
    ["update", () => store.update("life/a", () => 2)],
    ["claim", () => store.claim({ key: "life/c", owner: "b", ttlMs: 1000 })],
    ["renew", () => store.renew(claim, 1000)],
    ["release", () => store.release(claim)],
    ["currentClaim", () => store.currentClaim("life/c")],
    ["events", () => store.events("life/")],
    ["watch", () => store.watch("life/", { fromSeq: 1 }).next()],
    ["purge", () => store.purge()],
    ["withClaim", () => store.withClaim("life/d", async () => 1, { owner: "a" })],
    ["getCheckpoint", () => store.backend.checkpoints!.getCheckpoint({ threadId: "t", ns: "", checkpointId: "c" })],
    ["listCheckpoints", () => store.backend.checkpoints!.listCheckpoints({ threadId: "t", limit: 1 })],
    [
      "getHeadCheckpoint",
      () => store.backend.checkpoints!.getHeadCheckpoint({ threadId: "t", ns: "", headKey: "life/h" }),
    ],
  ];
}

for (const fixture of backendFixtures()) {
  describe(`lifecycle: ${fixture.name}`, () => {
    afterAll(() => fixture.cleanup());

    it("close() waits for the commits, reads and updates issued before it: each one lands or answers", async () => {
      const store = await fixture.open();
      await store.commit({ key: "life/n", op: op.set(0) });
      const commits = Array.from({ length: 20 }, (_, i) => store.commit({ key: `life/k${i}`, op: op.set(i) }));
      const increments = Array.from({ length: 5 }, () => store.commit({ key: "life/n", op: op.increment(1) }));
      const update = store.update("life/u", (n) => ((n as number | undefined) ?? 0) + 1);
      const read = store.read("life/n");
      const snapshot = store.readMany(["life/n", "life/u"]);
      const closed = store.close();
      const results = await Promise.allSettled([...commits, ...increments, update, read, snapshot]);
      expect(
        results.filter((r) => r.status === "rejected").map((r) => String((r as PromiseRejectedResult).reason)),
      ).toEqual([]);
      await closed;
      const reopened = fixture.name === "memory" ? undefined : await fixture.openTwin(store);
      if (reopened) {
        expect(await reopened.read("life/n")).toMatchObject({ value: 5, version: 6 });
        expect(await reopened.read("life/k19")).toMatchObject({ value: 19 });
        await reopened.close();
      }
    });

    it("before close() every call answers: a result or a typed error, never a TypeError", async () => {
      const store = await fixture.open();
      for (const [name, call] of everyCall(store)) {
        const outcome = await call().then(
          () => "answered",
          (e: unknown) => (e instanceof FencedStateError ? e.code : String(e)),
        );
        expect([name, outcome]).toEqual([name, name === "renew" ? "FENCED" : "answered"]);
      }
      await store.close();
    });

    it("after close() every call gets CLOSED, typed and not retryable; close() again is harmless", async () => {
      const store = await fixture.open();
      await store.commit({ key: "life/a", op: op.set(0) });
      await store.close();
      for (const [name, call] of everyCall(store)) {
        const err = await call().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err, name).toBeInstanceOf(FencedStateError);
        expect({ name, code: (err as FencedStateError).code, retryable: (err as FencedStateError).retryable }).toEqual({
          name,
          code: "CLOSED",
          retryable: false,
        });
      }
      await store.close();
    });
  });
}
