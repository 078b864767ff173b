/**
 * What the core asks of a backend that locks per key (PostgreSQL; docs/design.md §3): `commit` and every claim
 * operation first hold every key they name — the written keys and the guard keys, in one `lock` call carrying the
 * commit's opId — and only then read the clock, so lease expiry is judged at the moment the keys are held. The memory
 * backend has no locks; here it is wrapped in one that records each `lock` call and each clock reading, in order.
 */
import { describe, expect, it } from "vitest";
import type { Backend, BackendTx } from "../../src/core/backend.js";
import { StateStore, op, openStore } from "../../src/index.js";

async function recordingStore() {
  const log: string[] = [];
  const inner = (await openStore({ memory: true })).backend;
  const backend: Backend = Object.assign(Object.create(inner) as Backend, {
    transact: <T>(fn: (tx: BackendTx) => Promise<T>) =>
      inner.transact((tx) =>
        fn(
          Object.assign(Object.create(tx) as BackendTx, {
            lock: (scope: { keys: readonly string[]; opId?: string }) => {
              log.push(`lock ${scope.keys.join(",")}${scope.opId === undefined ? "" : ` opId=${scope.opId}`}`);
            },
          }),
        ),
      ),
  });
  const store = new StateStore(backend, {
    clock: () => {
      log.push("clock");
      return 1_000;
    },
  });
  return { store, log };
}

describe("lock, then clock", () => {
  it("a commit locks its written and guard keys in one call with its opId, before reading the clock", async () => {
    const { store, log } = await recordingStore();
    await store.commit({ key: "a", op: op.set(1), opId: "op-1", guards: [{ key: "g", version: 0 }] });
    expect(log).toEqual(["lock a,g opId=op-1", "clock"]);
    log.length = 0;
    await store.txn([
      { key: "b", op: op.set(1) },
      { key: "c", op: op.set(1) },
    ]);
    expect(log).toEqual(["lock b,c", "clock"]);
  });

  it("claim, renew and release lock their key before reading the clock", async () => {
    const { store, log } = await recordingStore();
    const claim = await store.claim({ key: "k", owner: "a", ttlMs: 100 });
    expect(log).toEqual(["lock k", "clock"]);
    log.length = 0;
    await store.renew(claim, 100);
    expect(log).toEqual(["lock k", "clock"]);
    log.length = 0;
    await store.release(claim);
    expect(log).toEqual(["lock k", "clock"]);
  });
});
