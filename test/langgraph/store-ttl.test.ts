/**
 * FencedStore item TTL on every backend (docs/lifecycle.md), as Python's store `ttl` and `sweep_ttl`: an item not
 * written for `defaultMs` is expired; reads stop seeing it and `sweepTtl()` deletes it, judged as of its commit.
 */
import { afterEach, describe, expect, it } from "vitest";
import { InvalidInputError, type StateStore } from "../../src/index.js";
import { FencedStore } from "../../src/langgraph/index.js";
import { backendFixtures } from "../support/backends.js";

const MINUTE = 60_000;

for (const fixture of backendFixtures()) {
  describe(`FencedStore TTL on ${fixture.name}`, () => {
    afterEach(() => fixture.cleanup());

    async function ttlStore() {
      let now = Date.now();
      const state = await fixture.open({ clock: () => now });
      return {
        state,
        store: new FencedStore(state, { ttl: { defaultMs: 10 * MINUTE } }),
        later: (ms: number) => (now += ms),
      };
    }

    it("an expired item is gone from get, search and listNamespaces; sweepTtl deletes it and counts it", async () => {
      const { state, store, later } = await ttlStore();
      await store.put(["users", "old"], "profile", { name: "Ada" });
      later(11 * MINUTE);
      await store.put(["users", "new"], "profile", { name: "Grace" });
      expect(await store.get(["users", "old"], "profile")).toBeNull();
      expect((await store.search(["users"])).map((i) => i.namespace)).toEqual([["users", "new"]]);
      expect(await store.listNamespaces()).toEqual([["users", "new"]]);
      expect(
        await store.update(["users", "old"], "profile", (current) => ({ seen: current === undefined })),
      ).toMatchObject({ value: { seen: true } });
      later(11 * MINUTE);
      expect(await store.sweepTtl()).toBe(2);
      expect(await store.sweepTtl()).toBe(0);
      expect((await state.read("fenced-lifecycle/swept/items")).value).toBe(2);
      expect(await state.list("store/")).toEqual([]);
    });

    it("an item written after the sweep read it stays: expiry is judged at the commit, not from the stale read", async () => {
      const { state, store, later } = await ttlStore();
      await store.put(["users", "u1"], "profile", { name: "Ada" });
      later(11 * MINUTE);
      writeOnFirstTxn(state, () => store.put(["users", "u1"], "profile", { name: "Ada, just now" }));
      expect(await store.sweepTtl()).toBe(0);
      expect((await store.get(["users", "u1"], "profile"))?.value).toEqual({ name: "Ada, just now" });
    });

    it("sweeps in the background every sweepEveryMs, and close() stops it", async () => {
      const state = await fixture.open();
      const store = new FencedStore(state, { ttl: { defaultMs: 1, sweepEveryMs: 20 } });
      await store.put(["a"], "k", { v: 1 });
      for (const deadline = Date.now() + 20_000; (await state.list("store/")).length > 0; ) {
        if (Date.now() > deadline) throw new Error("the background sweep never ran");
        await new Promise((r) => setTimeout(r, 20));
      }
      await store.close();
      await store.put(["a"], "k2", { v: 2 });
      await new Promise((r) => setTimeout(r, 200));
      expect((await state.list("store/")).map((r) => r.key)).toEqual(["store/a/=k2"]);
    });

    it("sweepTtl without a TTL, or a TTL that is not a positive period, is INVALID_INPUT", async () => {
      const state = await fixture.open();
      await expect(new FencedStore(state).sweepTtl()).rejects.toBeInstanceOf(InvalidInputError);
      expect(() => new FencedStore(state, { ttl: { defaultMs: 0 } })).toThrow(InvalidInputError);
      expect(() => new FencedStore(state, { ttl: { defaultMs: 1, sweepEveryMs: -1 } })).toThrow(InvalidInputError);
    });
  });
}

/** Runs `write` just before the store's first txn: between the sweep's read of an item and its delete. */
function writeOnFirstTxn(state: StateStore, write: () => Promise<unknown>): void {
  const txn = state.txn.bind(state);
  let fired = false;
  state.txn = async (...args) => {
    if (!fired) {
      fired = true;
      await write();
    }
    return txn(...args);
  };
}
