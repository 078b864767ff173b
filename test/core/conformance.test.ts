/**
 * The one conformance suite: every backend in `backendFixtures()` must pass it unchanged (docs/design.md §5).
 * Each guarantee's tests name its id.
 */
import { afterAll, describe, expect, it } from "vitest";
import {
  ClaimHeldError,
  FencedError,
  FencedStateError,
  IdempotencyMismatchError,
  InvalidInputError,
  PayloadTooLargeError,
  VersionConflictError,
  op,
  type Snapshot,
  type StateEvent,
  type StateStore,
} from "../../src/index.js";
import { lockId } from "../../src/backends/postgres/locks.js";
import type { PostgresBackend } from "../../src/backends/postgres/index.js";
import { backendFixtures, withPgClient } from "../support/backends.js";

for (const fixture of backendFixtures()) {
  describe(`conformance: ${fixture.name}`, () => {
    afterAll(() => fixture.cleanup());
    let clockNow = 1_000_000;
    const open = (limits?: { maxValueBytes?: number; maxKeyLength?: number; maxTxnSize?: number }) =>
      fixture.open({ clock: () => clockNow, ...(limits && { limits }) });

    describe("G1 single winner", () => {
      it("lets exactly one of many concurrent commits at one version win; the rest get VERSION_CONFLICT", async () => {
        const store = await open();
        await store.commit({ key: "g1/k", op: op.set(0) });
        const settled = await Promise.allSettled(
          Array.from({ length: 12 }, (_, i) => store.commit({ key: "g1/k", op: op.set(i + 1), expectVersion: 1 })),
        );
        const won = settled.filter((s) => s.status === "fulfilled");
        const lost = settled.filter((s): s is PromiseRejectedResult => s.status === "rejected");
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(11);
        for (const l of lost) {
          expect(l.reason).toBeInstanceOf(VersionConflictError);
          expect(l.reason).toMatchObject({
            code: "VERSION_CONFLICT",
            retryable: true,
            details: { key: "g1/k", expectedVersion: 1, actualVersion: 2 },
          });
        }
        const winnerValue = settled.findIndex((s) => s.status === "fulfilled") + 1;
        expect(await store.read("g1/k")).toMatchObject({ exists: true, version: 2, value: winnerValue });
        await store.close();
      });

      it("starts a missing key at version 0 and grows the version by one per commit", async () => {
        const store = await open();
        expect(await store.read("g1/new")).toEqual({ key: "g1/new", exists: false, version: 0, epoch: 0 });
        const first = await store.commit({ key: "g1/new", op: op.set("a"), expectVersion: 0 });
        expect(first).toMatchObject({ version: 1, replayed: false, exists: true });
        await expect(store.commit({ key: "g1/new", op: op.set("b"), expectVersion: 0 })).rejects.toBeInstanceOf(
          VersionConflictError,
        );
        expect((await store.commit({ key: "g1/new", op: op.set("c") })).version).toBe(2);
        expect((await store.commit({ key: "g1/new", op: op.set("d"), expectVersion: 2 })).version).toBe(3);
        expect(await store.read("g1/new")).toMatchObject({ version: 3, value: "d" });
        await store.close();
      });

      it("applies increment, append and merge to the current value without conflicts among them", async () => {
        const store = await open();
        await Promise.all([
          ...Array.from({ length: 25 }, () => store.commit({ key: "g1/n", op: op.increment(2) })),
          ...Array.from({ length: 25 }, (_, i) => store.commit({ key: "g1/log", op: op.append(i) })),
          ...Array.from({ length: 10 }, (_, i) => store.commit({ key: "g1/doc", op: op.merge({ [`f${i}`]: i }) })),
        ]);
        expect(await store.read("g1/n")).toMatchObject({ value: 50, version: 25 });
        const log = (await store.read("g1/log")).value as number[];
        expect([...log].sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, i) => i));
        expect(Object.keys((await store.read("g1/doc")).value as object)).toHaveLength(10);
        await store.commit({ key: "g1/doc", op: op.merge({ f0: null, nested: { a: 1 } }) });
        const doc = (await store.read("g1/doc")).value as Record<string, unknown>;
        expect(doc.f0).toBeUndefined();
        expect(doc.nested).toEqual({ a: 1 });
        await store.close();
      });

      it("keeps a deleted key's version, so a writer holding the old version still conflicts", async () => {
        const store = await open();
        await store.commit({ key: "g1/del", op: op.set(1) });
        const stale = await store.read("g1/del");
        const del = await store.commit({ key: "g1/del", op: op.delete(), expectVersion: 1 });
        expect(del).toMatchObject({ exists: false, version: 2 });
        expect(await store.read("g1/del")).toMatchObject({ exists: false, version: 2 });
        expect((await store.read("g1/del")).value).toBeUndefined();
        await expect(
          store.commit({ key: "g1/del", op: op.set("zombie"), expectVersion: stale.version }),
        ).rejects.toBeInstanceOf(VersionConflictError);
        await expect(store.commit({ key: "g1/del", op: op.set("fresh"), expectVersion: 0 })).rejects.toBeInstanceOf(
          VersionConflictError,
        );
        expect(await store.commit({ key: "g1/del", op: op.set("fresh"), expectVersion: 2 })).toMatchObject({
          version: 3,
          exists: true,
        });
        await store.close();
      });

      it("update() retries conflicts until every concurrent increment lands", async () => {
        const store = await open();
        const results = await Promise.all(
          Array.from({ length: 20 }, () =>
            store.update("g1/count", (n) => ((n as number | undefined) ?? 0) + 1, { baseMs: 0, maxMs: 2 }),
          ),
        );
        expect(await store.read("g1/count")).toMatchObject({ value: 20, version: 20 });
        expect(new Set(results.map((r) => r.version)).size).toBe(20);
        expect(results.every((r) => r.attempts >= 1)).toBe(true);
        await store.close();
      });
    });

    describe("G2 fencing", () => {
      it("bumps the epoch on every claim and answers CLAIM_HELD to a second owner", async () => {
        const store = await open();
        const a = await store.claim({ key: "g2/k", owner: "a", ttlMs: 1000 });
        expect(a).toEqual({ key: "g2/k", owner: "a", epoch: 1, expiresAt: clockNow + 1000 });
        const err = await store.claim({ key: "g2/k", owner: "b", ttlMs: 1000 }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ClaimHeldError);
        expect(err).toMatchObject({
          code: "CLAIM_HELD",
          retryable: true,
          details: { key: "g2/k", owner: "a", expiresAt: clockNow + 1000 },
        });
        expect((await store.claim({ key: "g2/k", owner: "a", ttlMs: 1000 })).epoch).toBe(2);
        expect(await store.currentClaim("g2/k")).toMatchObject({ owner: "a", epoch: 2 });
        await store.close();
      });

      it("rejects a zombie commit even when the version did not move", async () => {
        const store = await open();
        await store.commit({ key: "g2/z", op: op.set("draft") });
        const zombie = await store.claim({ key: "g2/z", owner: "zombie", ttlMs: 60_000 });
        const seen = await store.read("g2/z");
        const fresh = await store.claim({ key: "g2/z", owner: "fresh", ttlMs: 60_000, steal: true });
        expect(fresh.epoch).toBe(zombie.epoch + 1);
        expect((await store.read("g2/z")).version).toBe(seen.version);
        const err = await store
          .commit({ key: "g2/z", op: op.set("stale"), expectVersion: seen.version, epoch: zombie.epoch })
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(FencedError);
        expect(err).toMatchObject({
          code: "FENCED",
          retryable: false,
          details: { key: "g2/z", heldEpoch: zombie.epoch, currentEpoch: fresh.epoch, reason: "superseded" },
        });
        expect(await store.read("g2/z")).toMatchObject({ value: "draft", version: seen.version });
        expect(
          await store.commit({ key: "g2/z", op: op.set("final"), expectVersion: seen.version, epoch: fresh.epoch }),
        ).toMatchObject({
          epoch: fresh.epoch,
        });
        await store.close();
      });

      it("rejects a commit that presents no epoch while a claim is live: there is no bypass", async () => {
        const store = await open();
        await store.claim({ key: "g2/nb", owner: "a", ttlMs: 60_000 });
        for (const o of [op.set(1), op.increment(1), op.append(1), op.merge({ a: 1 }), op.delete()]) {
          const err = await store.commit({ key: "g2/nb", op: o }).catch((e: unknown) => e);
          expect(err).toMatchObject({ code: "FENCED", details: { heldEpoch: null, reason: "no-epoch" } });
        }
        const txnErr = await store
          .txn([
            { key: "g2/free", op: op.set(1) },
            { key: "g2/nb", op: op.set(1) },
          ])
          .catch((e: unknown) => e);
        expect(txnErr).toBeInstanceOf(FencedError);
        expect(await store.read("g2/nb")).toMatchObject({ exists: false, version: 0 });
        expect(await store.read("g2/free")).toMatchObject({ exists: false, version: 0 });
        await store.close();
      });

      it("fences a holder whose lease expired, and lets another owner claim without steal", async () => {
        const store = await open();
        const a = await store.claim({ key: "g2/exp", owner: "a", ttlMs: 100 });
        clockNow += 101;
        await expect(store.commit({ key: "g2/exp", op: op.set(1), epoch: a.epoch })).rejects.toMatchObject({
          code: "FENCED",
          details: { reason: "expired" },
        });
        await expect(store.renew(a, 100)).rejects.toMatchObject({ code: "FENCED", details: { reason: "expired" } });
        // With the claim expired, a plain commit is no longer blocked: nobody holds the key.
        expect((await store.commit({ key: "g2/exp", op: op.set(0) })).version).toBe(1);
        const b = await store.claim({ key: "g2/exp", owner: "b", ttlMs: 100 });
        expect(b.epoch).toBe(a.epoch + 1);
        await expect(store.commit({ key: "g2/exp", op: op.set(1), epoch: a.epoch })).rejects.toMatchObject({
          details: { reason: "superseded" },
        });
        await store.close();
      });

      it("a lease ends at expiresAt: live one millisecond before, expired at that instant", async () => {
        const store = await open();
        const a = await store.claim({ key: "g2/edge", owner: "a", ttlMs: 100 });
        expect(a.expiresAt).toBe(clockNow + 100);
        clockNow = a.expiresAt - 1;
        expect(await store.currentClaim("g2/edge")).toMatchObject({ owner: "a", epoch: a.epoch });
        await expect(store.claim({ key: "g2/edge", owner: "b", ttlMs: 100 })).rejects.toMatchObject({
          code: "CLAIM_HELD",
        });
        expect((await store.commit({ key: "g2/edge", op: op.set(1), epoch: a.epoch })).version).toBe(1);
        clockNow = a.expiresAt;
        expect(await store.currentClaim("g2/edge")).toBeNull();
        await expect(store.commit({ key: "g2/edge", op: op.set(2), epoch: a.epoch })).rejects.toMatchObject({
          details: { reason: "expired" },
        });
        const b = await store.claim({ key: "g2/edge", owner: "b", ttlMs: 100 });
        expect(b.epoch).toBeGreaterThan(a.epoch);
        await store.close();
      });

      it("renewing as another owner, or a claim that was never taken, is FENCED (superseded)", async () => {
        const store = await open();
        const a = await store.claim({ key: "g2/own", owner: "a", ttlMs: 60_000 });
        await expect(store.renew({ key: "g2/own", owner: "b", epoch: a.epoch }, 100)).rejects.toMatchObject({
          code: "FENCED",
          details: { key: "g2/own", heldEpoch: a.epoch, currentEpoch: a.epoch, reason: "superseded" },
        });
        expect(await store.currentClaim("g2/own")).toMatchObject({ owner: "a", expiresAt: a.expiresAt });
        await expect(store.renew({ key: "g2/never", owner: "a", epoch: 0 }, 100)).rejects.toMatchObject({
          code: "FENCED",
          details: { key: "g2/never", heldEpoch: 0, currentEpoch: 0, reason: "superseded" },
        });
        expect(await store.currentClaim("g2/never")).toBeNull();
        await store.close();
      });

      it("logs claimed and released with the key's version: 0 for a key never written", async () => {
        const store = await open();
        const fresh = await store.claim({ key: "g2/ev-new", owner: "a", ttlMs: 60_000 });
        await store.release(fresh);
        await store.commit({ key: "g2/ev-old", op: op.set(1) });
        await store.commit({ key: "g2/ev-old", op: op.set(2) });
        const old = await store.claim({ key: "g2/ev-old", owner: "a", ttlMs: 60_000 });
        await store.release(old);
        const events = (await store.events("g2/ev-", { fromSeq: 1 })).filter((e) => e.outcome !== "committed");
        const seen = events.map((e) => ({ key: e.key, outcome: e.outcome, version: e.version, epoch: e.epoch }));
        expect(seen).toEqual([
          { key: "g2/ev-new", outcome: "claimed", version: 0, epoch: fresh.epoch },
          { key: "g2/ev-new", outcome: "released", version: 0, epoch: fresh.epoch },
          { key: "g2/ev-old", outcome: "claimed", version: 2, epoch: old.epoch },
          { key: "g2/ev-old", outcome: "released", version: 2, epoch: old.epoch },
        ]);
        await store.close();
      });

      it("renews a live claim, fences renewal of a superseded one, and rejects unknown epochs", async () => {
        const store = await open();
        const a = await store.claim({ key: "g2/r", owner: "a", ttlMs: 100 });
        clockNow += 50;
        const renewed = await store.renew(a, 100);
        expect(renewed.expiresAt).toBe(clockNow + 100);
        clockNow += 80;
        expect((await store.commit({ key: "g2/r", op: op.set(1), epoch: a.epoch })).epoch).toBe(a.epoch);
        await expect(store.commit({ key: "g2/r", op: op.set(2), epoch: a.epoch + 5 })).rejects.toMatchObject({
          details: { reason: "unknown-epoch" },
        });
        const b = await store.claim({ key: "g2/r", owner: "b", ttlMs: 100, steal: true });
        await expect(store.renew(a, 100)).rejects.toBeInstanceOf(FencedError);
        expect(await store.currentClaim("g2/r")).toMatchObject({ owner: "b", epoch: b.epoch });
        await store.close();
      });

      it("release lets others claim at once and fences commits under the released epoch", async () => {
        const store = await open();
        const a = await store.claim({ key: "g2/rel", owner: "a", ttlMs: 60_000 });
        expect(await store.release(a)).toBe(true);
        expect(await store.release(a)).toBe(false);
        expect(await store.currentClaim("g2/rel")).toBeNull();
        await expect(store.commit({ key: "g2/rel", op: op.set(1), epoch: a.epoch })).rejects.toMatchObject({
          details: { reason: "released" },
        });
        const b = await store.claim({ key: "g2/rel", owner: "b", ttlMs: 60_000 });
        expect(b.epoch).toBe(a.epoch + 1);
        await store.close();
      });

      it("withClaim hands the epoch to fn, releases after, and aborts fn's signal when the key is reclaimed", async () => {
        const store = await open();
        const value = await store.withClaim(
          "g2/wc",
          async (c) => (await store.commit({ key: "g2/wc", op: op.set("done"), epoch: c.epoch })).epoch,
          { owner: "a", ttlMs: 60_000 },
        );
        expect(value).toBe(1);
        expect(await store.currentClaim("g2/wc")).toBeNull();
        const aborted = await store.withClaim(
          "g2/wc",
          async (c, signal) => {
            await store.claim({ key: "g2/wc", owner: "thief", ttlMs: 60_000, steal: true });
            await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
            return {
              reason: signal.reason as unknown,
              write: await store.commit({ key: "g2/wc", op: op.set("late"), epoch: c.epoch }).catch((e: unknown) => e),
            };
          },
          { owner: "a", ttlMs: 60_000, renewEveryMs: 5 },
        );
        expect(aborted.reason).toBeInstanceOf(FencedError);
        expect(aborted.write).toBeInstanceOf(FencedError);
        expect(await store.currentClaim("g2/wc")).toMatchObject({ owner: "thief" });
        await store.close();
      });
    });

    describe("G2 tokens bound to their claim", () => {
      it("refuses Alice's token for jobs/a on jobs/b, which Bob holds: epochs are unique across the store", async () => {
        const store = await open();
        const alice = await store.claim({ key: "jobs/a", owner: "alice", ttlMs: 60_000 });
        const bob = await store.claim({ key: "jobs/b", owner: "bob", ttlMs: 60_000 });
        expect(bob.epoch).not.toBe(alice.epoch);
        const err = await store
          .commit({ key: "jobs/b", op: op.set("alice was here"), epoch: alice.epoch, owner: "alice" })
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(FencedError);
        expect(err).toMatchObject({ details: { key: "jobs/b", heldEpoch: alice.epoch, currentEpoch: bob.epoch } });
        await expect(store.commit({ key: "jobs/a", op: op.set("bob"), epoch: bob.epoch })).rejects.toBeInstanceOf(
          FencedError,
        );
        expect(await store.read("jobs/b")).toMatchObject({ exists: false, version: 0 });
        expect(await store.read("jobs/a")).toMatchObject({ exists: false, version: 0 });
        expect(await store.commit({ key: "jobs/b", op: op.set("bob"), epoch: bob.epoch })).toMatchObject({
          version: 1,
          epoch: bob.epoch,
        });
        await store.close();
      });

      it("hands out a new epoch above every earlier one, on any key, for every claim, reclaim and claim after release", async () => {
        const store = await open();
        const granted: number[] = [];
        for (const key of ["u/a", "u/b", "u/a", "u/c", "u/b"]) {
          const c = await store.claim({ key, owner: `o${granted.length}`, ttlMs: 60_000, steal: true });
          granted.push(c.epoch);
          if (granted.length === 3) await store.release(c);
        }
        // Concurrent claims on distinct keys take distinct epochs too.
        const parallel = await Promise.all(
          ["p/a", "p/b", "p/c", "p/d"].map((key) => store.claim({ key, owner: "x", ttlMs: 60_000 })),
        );
        const all = [...granted, ...parallel.map((c) => c.epoch)];
        expect(new Set(all).size).toBe(all.length);
        expect(granted).toEqual([...granted].sort((x, y) => x - y));
        expect(Math.min(...parallel.map((c) => c.epoch))).toBeGreaterThan(Math.max(...granted));
        await store.close();
      });
    });

    describe("G2 expiry judged when the key is held", () => {
      /**
       * Holds `key` in a transaction of its own (its lock on Postgres; memory and SQLite run one transaction at a time)
       * until `release()`; `waiting(n)` resolves once n calls are queued behind it.
       */
      async function holdKey(store: Awaited<ReturnType<typeof open>>, key: string) {
        let held!: () => void;
        const entered = new Promise<void>((r) => (held = r));
        let release!: () => void;
        const gate = new Promise<void>((r) => (release = r));
        const holder = store.backend.transact(async (tx) => {
          await tx.lock?.({ keys: [key] });
          held();
          await gate;
        });
        await entered;
        const waiting = (count: number) => waitForLockWaiters(store, key, count);
        return { waiting, release: async () => (release(), await holder) };
      }

      it("a renew that waits on the key past the lease's expiry is FENCED (expired), and the lease stays dead", async () => {
        const store = await open();
        const a = await store.claim({ key: "lw/r", owner: "a", ttlMs: 100 });
        const hold = await holdKey(store, "lw/r");
        const renewing = store.renew(a, 100_000).catch((e: unknown) => e);
        await hold.waiting(1);
        clockNow += 101; // the lease runs out while the renew waits for the key
        await hold.release();
        const err = await renewing;
        expect(err).toBeInstanceOf(FencedError);
        expect(err).toMatchObject({ details: { key: "lw/r", heldEpoch: a.epoch, reason: "expired" } });
        expect(await store.currentClaim("lw/r")).toBeNull();
        // Nobody holds the key now: a plain writer may commit, and the old holder stays fenced.
        expect(await store.commit({ key: "lw/r", op: op.set("other") })).toMatchObject({ version: 1 });
        await expect(store.commit({ key: "lw/r", op: op.set("late"), epoch: a.epoch })).rejects.toMatchObject({
          details: { reason: "expired" },
        });
        await store.close();
      });

      it("a claim and a commit that wait on the key past the holder's expiry see the lease as expired", async () => {
        const store = await open();
        const a = await store.claim({ key: "lw/c", owner: "a", ttlMs: 100 });
        const hold = await holdKey(store, "lw/c");
        const claiming = store.claim({ key: "lw/c", owner: "b", ttlMs: 100 });
        const committing = store.commit({ key: "lw/c", op: op.set("a"), epoch: a.epoch }).catch((e: unknown) => e);
        await hold.waiting(2);
        clockNow += 101;
        await hold.release();
        const b = await claiming;
        expect(b).toMatchObject({ owner: "b" });
        expect(b.epoch).toBeGreaterThan(a.epoch);
        expect(await committing).toBeInstanceOf(FencedError);
        await store.close();
      });
    });

    describe("guards: preconditions on other keys (docs/guards.md)", () => {
      it("commits under an epoch guard while the claim is held, and is FENCED on the guard key once it is not", async () => {
        const store = await open();
        const job = await store.claim({ key: "gd/job", owner: "w", ttlMs: 60_000 });
        const guards = [{ key: "gd/job", epoch: job.epoch }];
        expect(await store.commit({ key: "gd/out", op: op.set(1), guards })).toMatchObject({ version: 1 });
        const thief = await store.claim({ key: "gd/job", owner: "t", ttlMs: 60_000, steal: true });
        const before = await store.backend.lastSeq();
        const err = await store
          .commit({ key: "gd/out", op: op.set(2), expectVersion: 1, guards, owner: "w" })
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(FencedError);
        expect(err).toMatchObject({
          details: { key: "gd/job", heldEpoch: job.epoch, currentEpoch: thief.epoch, reason: "superseded" },
        });
        expect(await store.read("gd/out")).toMatchObject({ value: 1, version: 1 });
        // The failed guard is the one event: fenced, on the guard key; nothing else was written.
        const events = (await store.events("gd/", { fromSeq: before + 1 })).map((e) => [e.key, e.outcome, e.owner]);
        expect(events).toEqual([["gd/job", "fenced", "w"]]);
        await store.close();
      });

      it("judges an epoch guard as a commit's own epoch: expired, released, and epoch null while a claim is live", async () => {
        const store = await open();
        const job = await store.claim({ key: "gd/e", owner: "w", ttlMs: 100 });
        const write = (epoch: number | null) =>
          store.commit({ key: "gd/o", op: op.increment(1), guards: [{ key: "gd/e", epoch }] });
        await expect(write(null)).rejects.toMatchObject({
          code: "FENCED",
          details: { key: "gd/e", heldEpoch: null, reason: "no-epoch" },
        });
        await expect(write(job.epoch + 1000)).rejects.toMatchObject({ details: { reason: "unknown-epoch" } });
        clockNow += 101;
        await expect(write(job.epoch)).rejects.toMatchObject({ details: { reason: "expired" } });
        expect(await write(null)).toMatchObject({ version: 1 }); // no live claim: null passes
        const again = await store.claim({ key: "gd/e", owner: "w", ttlMs: 100 });
        await store.release(again);
        await expect(write(again.epoch)).rejects.toMatchObject({ details: { reason: "released" } });
        expect((await store.read("gd/o")).value).toBe(1);
        await store.close();
      });

      it("a version guard is VERSION_CONFLICT naming the guard key, with a conflict event there, and writes nothing", async () => {
        const store = await open();
        await store.commit({ key: "gd/config", op: op.set("v1") });
        expect(
          await store.commit({ key: "gd/plan", op: op.set("p1"), guards: [{ key: "gd/config", version: 1 }] }),
        ).toMatchObject({ version: 1 });
        await store.commit({ key: "gd/config", op: op.set("v2") });
        const before = await store.backend.lastSeq();
        const err = await store
          .commit({ key: "gd/plan", op: op.set("p2"), guards: [{ key: "gd/config", version: 1 }] })
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(VersionConflictError);
        expect(err).toMatchObject({ details: { key: "gd/config", expectedVersion: 1, actualVersion: 2 } });
        expect(await store.read("gd/plan")).toMatchObject({ value: "p1", version: 1 });
        expect((await store.events("gd/", { fromSeq: before + 1 })).map((e) => [e.key, e.outcome])).toEqual([
          ["gd/config", "conflict"],
        ]);
        // A guard on a key that must not exist yet: version 0.
        await expect(
          store.commit({ key: "gd/x", op: op.set(1), guards: [{ key: "gd/missing", version: 0 }] }),
        ).resolves.toMatchObject({ version: 1 });
        await store.close();
      });

      it("checks guards after idempotency and before the written keys' own epoch and version", async () => {
        const store = await open();
        const job = await store.claim({ key: "gd/ord", owner: "w", ttlMs: 60_000 });
        const request = { key: "gd/res", op: op.set(1), guards: [{ key: "gd/ord", epoch: job.epoch }], opId: "gd-op" };
        const first = await store.commit(request);
        await store.claim({ key: "gd/ord", owner: "t", ttlMs: 60_000, steal: true });
        // A retry of an applied opId replays its first result, although its guard no longer holds.
        expect(await store.commit(request)).toMatchObject({ replayed: true, seq: first.seq });
        // The same opId with other guards is another payload.
        await expect(store.commit({ ...request, guards: [{ key: "gd/ord", version: 0 }] })).rejects.toMatchObject({
          code: "IDEMPOTENCY_MISMATCH",
        });
        // Guard and own version both fail: the guard is answered.
        await expect(
          store.commit({
            key: "gd/res",
            op: op.set(2),
            expectVersion: 7,
            guards: [{ key: "gd/ord", epoch: job.epoch }],
          }),
        ).rejects.toMatchObject({
          code: "FENCED",
          details: { key: "gd/ord" },
        });
        // Guards in order: the first failing one is answered.
        await expect(
          store.commit({
            key: "gd/res",
            op: op.set(2),
            guards: [
              { key: "gd/res", version: 1 },
              { key: "gd/ord", version: 9 },
              { key: "gd/ord", epoch: job.epoch },
            ],
          }),
        ).rejects.toMatchObject({ code: "VERSION_CONFLICT", details: { key: "gd/ord", expectedVersion: 9 } });
        await store.close();
      });

      it("guards a txn all-or-nothing, and a guard may name a key the txn writes", async () => {
        const store = await open();
        const lease = await store.claim({ key: "gd/lease", owner: "w", ttlMs: 60_000 });
        const writes = [
          { key: "gd/t1", op: op.set(1) },
          { key: "gd/t2", op: op.set(2) },
        ];
        expect(
          (
            await store.txn(writes, {
              guards: [
                { key: "gd/lease", epoch: lease.epoch },
                { key: "gd/t1", version: 0 },
              ],
            })
          ).results,
        ).toHaveLength(2);
        await expect(store.txn(writes, { guards: [{ key: "gd/t1", version: 0 }] })).rejects.toMatchObject({
          code: "VERSION_CONFLICT",
          details: { key: "gd/t1" },
        });
        await store.release(lease);
        await expect(store.txn(writes, { guards: [{ key: "gd/lease", epoch: lease.epoch }] })).rejects.toMatchObject({
          details: { reason: "released" },
        });
        expect((await store.read("gd/t2")).version).toBe(1);
        await store.close();
      });

      it("rejects malformed guards with INVALID_INPUT and writes nothing", async () => {
        const store = await open();
        const bad: unknown[] = [
          [{ key: "gd/k" }],
          [{ key: "gd/k", epoch: 1, version: 1 }],
          [{ key: "gd/k", epoch: -1 }],
          [{ key: "gd/k", version: 1.5 }],
          [{ key: "/bad", epoch: 1 }],
          [{ key: "x".repeat(600), version: 0 }],
          { key: "gd/k", epoch: 1 },
        ];
        for (const guards of bad) {
          await expect(store.commit({ key: "gd/w", op: op.set(1), guards } as never)).rejects.toBeInstanceOf(
            InvalidInputError,
          );
          await expect(store.txn([{ key: "gd/w", op: op.set(1) }], { guards } as never)).rejects.toBeInstanceOf(
            InvalidInputError,
          );
        }
        await expect(store.txn([{ key: "gd/w", op: op.set(1), guards: [] } as never])).rejects.toBeInstanceOf(
          InvalidInputError,
        );
        expect(await store.read("gd/w")).toMatchObject({ exists: false, version: 0 });
        expect(await store.events("gd/")).toEqual([]);
        await store.close();
      });
    });

    describe("G3 idempotency", () => {
      it("replays the first result for a retried opId and applies nothing twice", async () => {
        const store = await open();
        const req = { key: "g3/n", op: op.increment(5), opId: "op-1" };
        const first = await store.commit(req);
        const again = await store.commit(req);
        expect(first.replayed).toBe(false);
        expect(again).toEqual({ ...first, replayed: true });
        expect(await store.read("g3/n")).toMatchObject({ value: 5, version: 1 });
        await store.close();
      });

      it("answers IDEMPOTENCY_MISMATCH to the same opId with a different payload, and changes nothing", async () => {
        const store = await open();
        await store.commit({ key: "g3/m", op: op.set(1), opId: "op-m" });
        const err = await store.commit({ key: "g3/m", op: op.set(2), opId: "op-m" }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(IdempotencyMismatchError);
        expect(err).toMatchObject({ code: "IDEMPOTENCY_MISMATCH", retryable: false, details: { opId: "op-m" } });
        expect(await store.read("g3/m")).toMatchObject({ value: 1, version: 1 });
        await store.close();
      });

      it("does not record a rejected commit's opId, so the same request is re-evaluated", async () => {
        const store = await open();
        await store.commit({ key: "g3/c", op: op.set(1) });
        const req = { key: "g3/c", op: op.set(2), expectVersion: 0, opId: "op-c" };
        await expect(store.commit(req)).rejects.toBeInstanceOf(VersionConflictError);
        await expect(store.commit(req)).rejects.toBeInstanceOf(VersionConflictError);
        expect(await store.read("g3/c")).toMatchObject({ value: 1, version: 1 });
        await store.close();
      });

      it("replays a whole txn by its opId", async () => {
        const store = await open();
        const reqs = [
          { key: "g3/t/a", op: op.increment(1) },
          { key: "g3/t/b", op: op.increment(1) },
        ];
        const first = await store.txn(reqs, { opId: "txn-1" });
        const again = await store.txn(reqs, { opId: "txn-1" });
        expect(again).toEqual({ ...first, replayed: true });
        expect((await store.read("g3/t/a")).value).toBe(1);
        expect((await store.read("g3/t/b")).value).toBe(1);
        await store.close();
      });

      it("forgets opIds older than the retention period when purged", async () => {
        const store = await open();
        await store.commit({ key: "g3/old", op: op.increment(1), opId: "op-old" });
        clockNow += store.retention.idempotencyMs + 1;
        await store.purge();
        expect((await store.commit({ key: "g3/old", op: op.increment(1), opId: "op-old" })).replayed).toBe(false);
        expect((await store.read("g3/old")).value).toBe(2);
        await store.close();
      });
    });

    describe("G4 atomicity", () => {
      it("applies a txn all-or-nothing: one stale version rejects every write in it", async () => {
        const store = await open();
        await store.txn([
          { key: "g4/a", op: op.set(10) },
          { key: "g4/b", op: op.set(10) },
        ]);
        const err = await store
          .txn([
            { key: "g4/a", op: op.increment(-5), expectVersion: 1 },
            { key: "g4/b", op: op.increment(5), expectVersion: 0 },
          ])
          .catch((e: unknown) => e);
        expect(err).toMatchObject({
          code: "VERSION_CONFLICT",
          details: { key: "g4/b", expectedVersion: 0, actualVersion: 1 },
        });
        expect(await store.read("g4/a")).toMatchObject({ value: 10, version: 1 });
        expect(await store.read("g4/b")).toMatchObject({ value: 10, version: 1 });
        await store.close();
      });

      it("rejects a txn whose later op does not apply, leaving earlier keys untouched", async () => {
        const store = await open();
        await store.commit({ key: "g4/s", op: op.set("text") });
        const err = await store
          .txn([
            { key: "g4/n", op: op.increment(1) },
            { key: "g4/s", op: op.increment(1) },
          ])
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(InvalidInputError);
        expect((err as InvalidInputError).details.issues[0]!.path).toEqual(["requests", 1, "op"]);
        expect(await store.read("g4/n")).toMatchObject({ exists: false, version: 0 });
        await store.close();
      });

      it("keeps a sum invariant under concurrent transfers between accounts", async () => {
        const store = await open();
        await store.txn([
          { key: "g4/acct/x", op: op.set(100) },
          { key: "g4/acct/y", op: op.set(100) },
        ]);
        const transfer = async (from: string, to: string, amount: number) => {
          for (let attempt = 0; ; attempt++) {
            const [f, t] = [await store.read(from), await store.read(to)];
            try {
              return await store.txn([
                { key: from, op: op.set((f.value as number) - amount), expectVersion: f.version },
                { key: to, op: op.set((t.value as number) + amount), expectVersion: t.version },
              ]);
            } catch (err) {
              if (!(err instanceof VersionConflictError) || attempt > 100) throw err;
            }
          }
        };
        await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            i % 2 ? transfer("g4/acct/x", "g4/acct/y", i) : transfer("g4/acct/y", "g4/acct/x", i),
          ),
        );
        const [x, y] = [await store.read("g4/acct/x"), await store.read("g4/acct/y")];
        expect((x.value as number) + (y.value as number)).toBe(200);
        expect(x.version).toBe(21);
        expect(y.version).toBe(21);
        await store.close();
      });
    });

    describe("G6 bad input changes nothing", () => {
      const bad: [string, unknown][] = [
        ["an empty key", { key: "", op: op.set(1) }],
        ["a key with an empty segment", { key: "a//b", op: op.set(1) }],
        ["a key with a leading slash", { key: "/a", op: op.set(1) }],
        ["a key with a control character", { key: "a\u0000b", op: op.set(1) }],
        ["a NaN value", { key: "bad/k", op: { type: "set", value: Number.NaN } }],
        ["an undefined value", { key: "bad/k", op: { type: "set", value: undefined } }],
        ["a Date value", { key: "bad/k", op: { type: "set", value: new Date(0) } }],
        ["a nested function", { key: "bad/k", op: { type: "set", value: { f: () => 1 } } }],
        ["an unknown op", { key: "bad/k", op: { type: "upsert", value: 1 } }],
        ["a misspelt precondition", { key: "bad/k", op: op.set(1), expectedVersion: 0 }],
        ["a negative expectVersion", { key: "bad/k", op: op.set(1), expectVersion: -1 }],
        ["a fractional epoch", { key: "bad/k", op: op.set(1), epoch: 1.5 }],
        ["an empty append", { key: "bad/k", op: { type: "append", items: [] } }],
        ["a non-object merge patch", { key: "bad/k", op: { type: "merge", patch: [1] } }],
        ["an infinite increment", { key: "bad/k", op: { type: "increment", by: Number.POSITIVE_INFINITY } }],
        ["not an object at all", "set bad/k 1"],
      ];
      for (const [what, request] of bad) {
        it(`rejects ${what} with INVALID_INPUT and writes nothing`, async () => {
          const store = await open();
          const before = await store.events("", { fromSeq: 1 });
          const err = await store.commit(request as never).catch((e: unknown) => e);
          expect(err).toBeInstanceOf(InvalidInputError);
          expect((err as InvalidInputError).details.issues.length).toBeGreaterThan(0);
          expect(await store.list({ prefix: "", includeDeleted: true })).toEqual([]);
          expect(await store.events("", { fromSeq: 1 })).toEqual(before);
          await store.close();
        });
      }

      it("rejects an increment of a non-number and an append to a non-array, with the reason", async () => {
        const store = await open();
        await store.commit({ key: "bad/s", op: op.set("text") });
        await expect(store.commit({ key: "bad/s", op: op.increment(1) })).rejects.toMatchObject({
          code: "INVALID_INPUT",
          details: {
            issues: [{ path: ["op"], message: "increment needs a number as the current value, found a string" }],
          },
        });
        await expect(store.commit({ key: "bad/s", op: op.append(1) })).rejects.toMatchObject({
          code: "INVALID_INPUT",
          details: {
            issues: [{ path: ["op"], message: "append needs an array as the current value, found a string" }],
          },
        });
        expect(await store.read("bad/s")).toMatchObject({ value: "text", version: 1 });
        await store.close();
      });

      it("refuses an increment or append on a stored null: only a missing key counts as 0 or []", async () => {
        const store = await open();
        await store.commit({ key: "bad/null", op: op.set(null) });
        await expect(store.commit({ key: "bad/null", op: op.increment(1) })).rejects.toMatchObject({
          code: "INVALID_INPUT",
          details: { issues: [{ path: ["op"], message: "increment needs a number as the current value, found null" }] },
        });
        await expect(store.commit({ key: "bad/null", op: op.append(1) })).rejects.toMatchObject({
          code: "INVALID_INPUT",
          details: { issues: [{ path: ["op"], message: "append needs an array as the current value, found null" }] },
        });
        expect(await store.read("bad/null")).toMatchObject({ exists: true, value: null, version: 1 });
        await store.commit({ key: "bad/null", op: op.delete() });
        expect(await store.commit({ key: "bad/null", op: op.increment(2) })).toMatchObject({ version: 3 });
        expect(await store.read("bad/null")).toMatchObject({ value: 2 });
        await store.close();
      });

      it("puts the path of an op that does not apply inside a txn under its request's index", async () => {
        const store = await open();
        await store.commit({ key: "bad/t", op: op.set(Number.MAX_SAFE_INTEGER) });
        await expect(
          store.txn([
            { key: "bad/u", op: op.set(1) },
            { key: "bad/t", op: op.increment(1) },
          ]),
        ).rejects.toMatchObject({
          code: "INVALID_INPUT",
          details: { issues: [{ path: ["requests", 1, "op", "by"] }] },
        });
        await expect(store.commit({ key: "bad/t", op: op.increment(1) })).rejects.toMatchObject({
          details: { issues: [{ path: ["op", "by"] }] },
        });
        expect(await store.read("bad/u")).toMatchObject({ exists: false, version: 0 });
        await store.close();
      });

      it("rejects a value over the size limit with PAYLOAD_TOO_LARGE and the limit", async () => {
        const store = await open({ maxValueBytes: 1024 });
        const err = await store.commit({ key: "bad/big", op: op.set("x".repeat(2000)) }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(PayloadTooLargeError);
        expect(err).toMatchObject({ code: "PAYLOAD_TOO_LARGE", details: { limit: 1024 } });
        await store.commit({ key: "bad/grow", op: op.set("y".repeat(600)) });
        await expect(store.commit({ key: "bad/grow", op: op.append("z") })).rejects.toBeInstanceOf(InvalidInputError);
        await store.commit({ key: "bad/list", op: op.set(["y".repeat(600)]) });
        await expect(store.commit({ key: "bad/list", op: op.append("z".repeat(600)) })).rejects.toBeInstanceOf(
          PayloadTooLargeError,
        );
        expect(await store.read("bad/big")).toMatchObject({ exists: false, version: 0 });
        expect(await store.read("bad/list")).toMatchObject({ version: 1 });
        await store.close();
      });

      it("rejects keys over the configured length and duplicate keys in a txn", async () => {
        const store = await open({ maxKeyLength: 16 });
        await expect(store.commit({ key: "k".repeat(17), op: op.set(1) })).rejects.toBeInstanceOf(InvalidInputError);
        await expect(store.read("k".repeat(17))).rejects.toBeInstanceOf(InvalidInputError);
        await expect(
          store.txn([
            { key: "dup", op: op.set(1) },
            { key: "dup", op: op.set(2) },
          ]),
        ).rejects.toBeInstanceOf(InvalidInputError);
        const long = "k".repeat(17);
        for (const call of [
          () => store.claim({ key: long, owner: "a", ttlMs: 10 }),
          () => store.renew({ key: long, owner: "a", epoch: 1 }, 10),
          () => store.release({ key: long, owner: "a", epoch: 1 }),
          () => store.currentClaim(long),
        ]) {
          await expect(call()).rejects.toMatchObject({
            code: "INVALID_INPUT",
            details: { issues: [{ path: ["key"], message: "key longer than 16 characters" }] },
          });
        }
        const txn = store.txn([
          { key: "ok", op: op.set(1) },
          { key: long, op: op.set(1) },
        ]);
        await expect(txn).rejects.toMatchObject({
          details: { issues: [{ path: ["requests", 1, "key"], message: "key longer than 16 characters" }] },
        });
        const guards = [
          { key: "g", version: 0 },
          { key: long, version: 0 },
        ];
        await expect(store.commit({ key: "ok", op: op.set(1), guards })).rejects.toMatchObject({
          details: { issues: [{ path: ["guards", 1, "key"] }] },
        });
        expect(await store.events("", { fromSeq: 1 })).toEqual([]);
        await expect(store.claim({ key: "c", owner: "", ttlMs: 10 })).rejects.toBeInstanceOf(InvalidInputError);
        await expect(store.claim({ key: "c", owner: "a", ttlMs: 0 })).rejects.toBeInstanceOf(InvalidInputError);
        expect(await store.list({ prefix: "", includeDeleted: true })).toEqual([]);
        expect(await store.currentClaim("c")).toBeNull();
        await store.close();
      });

      it("takes up to maxTxnSize requests in one txn and refuses one more, changing nothing", async () => {
        const store = await open({ maxTxnSize: 3 });
        const requests = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `size/${i}`, op: op.set(i) }));
        await expect(store.txn(requests(4))).rejects.toMatchObject({
          code: "INVALID_INPUT",
          details: { issues: [{ path: ["requests"], message: "more than 3 requests" }] },
        });
        expect(await store.list("size/")).toEqual([]);
        expect((await store.txn(requests(3))).results.map((r) => r.version)).toEqual([1, 1, 1]);
        await store.close();
      });
    });

    describe("event log and listing", () => {
      it("logs every outcome in order: committed, conflict, fenced, replayed, claimed, released", async () => {
        const store = await open();
        await store.commit({ key: "ev/k", op: op.set(1), opId: "e1", owner: "w" });
        await store.commit({ key: "ev/k", op: op.set(2), expectVersion: 0 }).catch(() => undefined);
        const c = await store.claim({ key: "ev/k", owner: "w", ttlMs: 60_000 });
        await store.commit({ key: "ev/k", op: op.set(3) }).catch(() => undefined);
        await store.commit({ key: "ev/k", op: op.set(1), opId: "e1", owner: "w" });
        await store.release(c);
        const events = await store.events("ev/", { fromSeq: 1 });
        expect(events.map((e) => e.outcome)).toEqual([
          "committed",
          "conflict",
          "claimed",
          "fenced",
          "replayed",
          "released",
        ]);
        expect(events[0]).toMatchObject({ key: "ev/k", version: 1, epoch: 0, owner: "w", opId: "e1" });
        expect(events.map((e) => e.seq)).toEqual([...events.map((e) => e.seq)].sort((a, b) => a - b));
        expect(new Set(events.map((e) => e.seq)).size).toBe(events.length);
        await store.close();
      });

      it("watch yields past events from fromSeq and new ones as they land, filtered by prefix", async () => {
        const store = await open();
        const first = await store.commit({ key: "w/a", op: op.set(1) });
        await store.commit({ key: "other/x", op: op.set(1) });
        const ac = new AbortController();
        const seen: StateEvent[] = [];
        const done = (async () => {
          for await (const e of store.watch("w/", { fromSeq: first.seq, signal: ac.signal, pollMs: 10 })) {
            seen.push(e);
            if (seen.length === 3) ac.abort();
          }
        })();
        await store.commit({ key: "w/b", op: op.set(2) });
        await store.commit({ key: "other/y", op: op.set(2) });
        await store.commit({ key: "w/c", op: op.set(3) });
        await done;
        expect(seen.map((e) => e.key)).toEqual(["w/a", "w/b", "w/c"]);
        await store.close();
      });

      it("lists existing keys under a prefix in key order, pages with after, and shows tombstones on request", async () => {
        const store = await open();
        for (const k of ["l/b", "l/a", "l/c", "lz", "l/é", "l/\u{1F600}"])
          await store.commit({ key: k, op: op.set(k) });
        await store.commit({ key: "l/c", op: op.delete() });
        expect((await store.list("l/")).map((r) => r.key)).toEqual(["l/a", "l/b", "l/é", "l/\u{1F600}"]);
        expect((await store.list({ prefix: "l/", includeDeleted: true })).map((r) => r.key)).toEqual([
          "l/a",
          "l/b",
          "l/c",
          "l/é",
          "l/\u{1F600}",
        ]);
        expect((await store.list({ prefix: "l/", after: "l/b", limit: 1 })).map((r) => r.key)).toEqual(["l/é"]);
        await store.close();
      });
    });

    describe("snapshot reads (docs/snapshots.md)", () => {
      it("readMany answers the keys in the order asked, a missing key as read does, at the seq of the last event", async () => {
        const store = await open();
        await store.txn([
          { key: "snap/a", op: op.set(1) },
          { key: "snap/b", op: op.set({ n: 2 }) },
        ]);
        await store.commit({ key: "snap/gone", op: op.set("x") });
        await store.commit({ key: "snap/gone", op: op.delete() });
        await store.claim({ key: "snap/c", owner: "w", ttlMs: 60_000 });
        const snap = await store.readMany(["snap/b", "snap/missing", "snap/a", "snap/gone", "snap/a"]);
        expect(snap.seq).toBe(await store.lastSeq());
        expect(snap.records).toEqual([
          await store.read("snap/b"),
          { key: "snap/missing", exists: false, version: 0, epoch: 0 },
          await store.read("snap/a"),
          await store.read("snap/gone"),
          await store.read("snap/a"),
        ]);
        expect(snap.records[3]).toMatchObject({ exists: false, version: 2 });
        expect(await store.readMany([])).toEqual({ seq: snap.seq, records: [] });
        await store.close();
      });

      it("listSnapshot answers list's page with its seq, and a fresh store reads seq 0", async () => {
        const store = await open();
        expect(await store.readMany(["snap/a"])).toEqual({
          seq: 0,
          records: [{ key: "snap/a", exists: false, version: 0, epoch: 0 }],
        });
        expect(await store.listSnapshot("snap/")).toEqual({ seq: 0, records: [] });
        for (const k of ["snap/b", "snap/a", "snap/c", "snapz"]) await store.commit({ key: k, op: op.set(k) });
        await store.commit({ key: "snap/c", op: op.delete() });
        const page = await store.listSnapshot({ prefix: "snap/", limit: 1, after: "snap/a" });
        expect(page).toEqual({
          seq: await store.lastSeq(),
          records: await store.list({ prefix: "snap/", limit: 1, after: "snap/a" }),
        });
        expect((await store.listSnapshot({ prefix: "snap/", includeDeleted: true })).records.map((r) => r.key)).toEqual(
          ["snap/a", "snap/b", "snap/c"],
        );
        expect((await store.listSnapshot("snap/")).records.map((r) => r.key)).toEqual(["snap/a", "snap/b"]);
        await store.close();
      });

      it("never shows a txn in part: snapshots taken while txns move value between two keys see the sum unchanged", async () => {
        const store = await open();
        await store.txn([
          { key: "snap/x", op: op.set(50) },
          { key: "snap/y", op: op.set(50) },
        ]);
        let moving = true;
        const moves = Promise.all(
          Array.from({ length: 30 }, (_, i) =>
            store.txn([
              { key: "snap/x", op: op.increment(i + 1) },
              { key: "snap/y", op: op.increment(-(i + 1)) },
            ]),
          ),
        ).finally(() => (moving = false));
        // Two readers, snapshot after snapshot while the txns land.
        const snaps: Snapshot[] = [];
        const reader = async (list: boolean) => {
          while (moving)
            snaps.push(list ? await store.listSnapshot("snap/") : await store.readMany(["snap/x", "snap/y"]));
        };
        await Promise.all([moves, reader(false), reader(true)]);
        expect(snaps.length).toBeGreaterThan(0);
        for (const { records, seq } of snaps) {
          expect(
            records.reduce((sum, r) => sum + (r.value as number), 0),
            `at seq ${seq}`,
          ).toBe(100);
          // Both keys move in every txn, so they are at the same version in every consistent state.
          expect(records[0]!.version, `at seq ${seq}`).toBe(records[1]!.version);
        }
        await store.close();
      });

      it("a snapshot held open keeps its state, and holds back neither writers nor reads issued after a commit", async () => {
        const store = await open();
        await store.commit({ key: "snap/k", op: op.set("before") });
        let release!: () => void;
        const held = new Promise<void>((resolve) => (release = resolve));
        let opened!: () => void;
        const isOpen = new Promise<void>((resolve) => (opened = resolve));
        const snapshot = store.backend.snapshot(async (r) => {
          const first = await r.getRecords(["snap/k"]);
          opened();
          await held;
          return {
            seq: await r.lastSeq(),
            first: first[0]?.valueText,
            second: (await r.getRecords(["snap/k"]))[0]?.valueText,
          };
        });
        await isOpen;
        const committed = await store.commit({ key: "snap/k", op: op.set("after") });
        // Read-your-writes: a plain read after the commit sees it, whatever snapshot is open meanwhile.
        expect(await store.read("snap/k")).toMatchObject({ value: "after", version: 2 });
        expect((await store.readMany(["snap/k"])).seq).toBe(committed.seq);
        release();
        const seen = await snapshot;
        expect(seen).toEqual({ seq: committed.seq - 1, first: '"before"', second: '"before"' });
        await store.close();
      });

      const badKeys: [string, unknown, (string | number)[]][] = [
        ["no array", undefined, ["keys"]],
        ["a string for the array", "snap/a", ["keys"]],
        ["null", null, ["keys"]],
        ["an empty key", ["snap/a", ""], ["keys", 1]],
        ["a key with an empty segment", ["a//b"], ["keys", 0]],
        ["a key with a control character", ["a\u0001b"], ["keys", 0]],
        ["a number for a key", [7], ["keys", 0]],
        ["more than 1,000 keys", Array.from({ length: 1001 }, (_, i) => `k${i}`), ["keys"]],
        ["a key over the store's configured length", ["k".repeat(17)], ["keys", 0]],
      ];
      for (const [what, keys, path] of badKeys) {
        it(`readMany rejects ${what} with INVALID_INPUT naming ${path.join(".")}`, async () => {
          const store = await open({ maxKeyLength: 16 });
          const err = await store.readMany(keys as string[]).catch((e: unknown) => e);
          expect(err).toBeInstanceOf(InvalidInputError);
          expect((err as InvalidInputError).details.issues[0]!.path).toEqual(path);
          await store.close();
        });
      }

      it("listSnapshot rejects what list rejects, with the same INVALID_INPUT", async () => {
        const store = await open();
        for (const query of [{ limit: 0 }, { prefix: "a\u0000" }, { prefx: "a" }, null]) {
          const a = await store.listSnapshot(query as never).catch((e: unknown) => e);
          const b = await store.list(query as never).catch((e: unknown) => e);
          expect(a).toBeInstanceOf(InvalidInputError);
          expect((a as InvalidInputError).details).toEqual((b as InvalidInputError).details);
        }
        await store.close();
      });
    });

    it("throws only FencedStateError subclasses, each with a stable code and JSON body", async () => {
      const store = await open();
      const err = await store.commit({ key: "e/k", op: op.set(1), expectVersion: 3 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FencedStateError);
      expect(JSON.parse(JSON.stringify(err))).toEqual({
        error: {
          code: "VERSION_CONFLICT",
          message: (err as Error).message,
          retryable: true,
          details: { key: "e/k", expectedVersion: 3, actualVersion: 0 },
        },
      });
      await store.close();
    });
  });
}

/**
 * Resolves once `count` transactions are waiting for `key`'s lock. On Postgres that is an ungranted advisory lock with the
 * key's id; memory and SQLite run one transaction at a time, so a queued call cannot read the clock before the
 * holder ends, and a short pause lets it queue.
 */
async function waitForLockWaiters(store: StateStore, key: string, count: number): Promise<void> {
  if (store.backend.kind !== "postgres") return void (await new Promise((r) => setTimeout(r, 20)));
  const id = lockId((store.backend as PostgresBackend).schema, "key", key);
  await expect
    .poll(
      () =>
        withPgClient(async (c) => {
          const { rows } = await c.query<{ n: string }>(
            `SELECT count(*) AS n FROM pg_locks
              WHERE locktype = 'advisory' AND NOT granted AND ((classid::bigint << 32) | objid::bigint) = $1::bigint`,
            [id],
          );
          return Number(rows[0]!.n);
        }),
      { timeout: 20_000, interval: 20 },
    )
    .toBeGreaterThanOrEqual(count);
}
