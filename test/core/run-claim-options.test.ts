/**
 * claimAndRun's options (src/core/run-claim.ts), on every backend: the caller's signal stops an `enqueue` wait and
 * aborts the run; `renewEveryMs` sets how often the claims are renewed; a run that fails with its own `FENCED` error
 * reports that error, not the loss signal's.
 */
import { afterAll, describe, expect, it } from "vitest";
import { ClaimHeldError, FencedError, claimAndRun, op, openStore } from "../../src/index.js";
import { backendFixtures } from "../support/backends.js";

for (const fixture of backendFixtures()) {
  describe(`claimAndRun options on ${fixture.name}`, () => {
    afterAll(() => fixture.cleanup());

    it("the caller's signal stops an enqueue wait with its reason, and the waiting run never runs", async () => {
      const store = await fixture.open();
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let started!: () => void;
      const running = new Promise<void>((r) => (started = r));
      const first = claimAndRun(store, { owner: "a", keys: ["job"] }, async () => (started(), await held));
      await running;
      const stop = new AbortController();
      const reason = new Error("caller gave up");
      let ran = false;
      const waiting = claimAndRun(
        store,
        { owner: "b", keys: ["job"], onBusy: "enqueue", waitMs: 60_000, signal: stop.signal },
        async () => {
          ran = true;
        },
      );
      setTimeout(() => stop.abort(reason), 20);
      await expect(waiting).rejects.toBe(reason);
      expect(ran).toBe(false);
      release();
      await first;
      await store.close();
    });

    it("the caller's signal is folded into the run's signal", async () => {
      const store = await fixture.open();
      const stop = new AbortController();
      const reason = new Error("shutdown");
      const seen = await claimAndRun(store, { owner: "a", keys: ["job"], signal: stop.signal }, async ({ signal }) => {
        expect(signal.aborted).toBe(false);
        stop.abort(reason);
        return signal.reason as unknown;
      });
      expect(seen).toBe(reason);
      await store.close();
    });

    it("renews every renewEveryMs, well before the default third of the lease", async () => {
      const store = await fixture.open();
      await claimAndRun(store, { owner: "a", keys: ["job"], ttlMs: 600_000, renewEveryMs: 10 }, async ({ claims }) => {
        const first = claims[0]!.expiresAt;
        await expect
          .poll(async () => (await store.currentClaim("job"))!.expiresAt, { timeout: 20_000, interval: 20 })
          .toBeGreaterThan(first);
      });
      await store.close();
    });

    it("a run that fails with its own FENCED error after losing its keys reports that error", async () => {
      const store = await fixture.open();
      let zombieError: unknown;
      const older = claimAndRun(store, { owner: "a", keys: ["job"], pollMs: 10 }, async ({ epochs, signal }) => {
        await store.claim({ key: "job", owner: "b", ttlMs: 60_000, steal: true });
        await expect.poll(() => signal.aborted, { timeout: 20_000 }).toBe(true);
        zombieError = await store
          .commit({ key: "job", op: op.set("late"), epoch: epochs.job! })
          .catch((e: unknown) => e);
        throw zombieError;
      });
      const err = await older.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FencedError);
      expect(err).toBe(zombieError);
      await store.close();
    });
  });
}

describe("claimAndRun on the store's clock", () => {
  it("claims for ttlMs (default 30 s), and an enqueue with waitMs 0 gives up at once", async () => {
    const now = 1_000_000;
    const store = await openStore({ memory: true, clock: () => now });
    const expiries = await claimAndRun(store, { owner: "a", keys: ["t/1"], ttlMs: 5_000 }, async ({ claims }) =>
      claims.map((c) => c.expiresAt),
    );
    expect(expiries).toEqual([now + 5_000]);
    await claimAndRun(store, { owner: "a", keys: ["t/2"] }, async ({ claims }) =>
      expect(claims[0]!.expiresAt).toBe(now + 30_000),
    );
    await claimAndRun(store, { owner: "a", keys: ["t/3"] }, async () => {
      const waiting = claimAndRun(store, { owner: "b", keys: ["t/3"], onBusy: "enqueue", waitMs: 0 }, async () => 1);
      await expect(waiting).rejects.toBeInstanceOf(ClaimHeldError);
    });
    await store.close();
  });

  it("a renewal fenced because the lease expired aborts the run's signal", async () => {
    let now = 1_000_000;
    const store = await openStore({ memory: true, clock: () => now });
    await claimAndRun(store, { owner: "a", keys: ["t/exp"], ttlMs: 1_000, renewEveryMs: 10 }, async ({ signal }) => {
      now += 5_000; // nobody took the key: only the next renewal can tell
      await expect.poll(() => signal.aborted, { timeout: 20_000 }).toBe(true);
      expect(signal.reason).toMatchObject({ code: "FENCED", details: { reason: "expired" } });
    });
    await store.close();
  });
});
