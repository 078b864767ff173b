/**
 * The one conformance suite: every backend in `backendFixtures()` must pass it unchanged (SPEC §5).
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
  type StateEvent,
} from "../../src/index.js";
import { backendFixtures } from "../support/backends.js";

for (const fixture of backendFixtures()) {
  describe(`conformance: ${fixture.name}`, () => {
    afterAll(() => fixture.cleanup());
    let clockNow = 1_000_000;
    const open = (limits?: { maxValueBytes?: number; maxKeyLength?: number }) =>
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
          expect(l.reason).toMatchObject({ code: "VERSION_CONFLICT", retryable: true, details: { key: "g1/k", expectedVersion: 1, actualVersion: 2 } });
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
        await expect(store.commit({ key: "g1/new", op: op.set("b"), expectVersion: 0 })).rejects.toBeInstanceOf(VersionConflictError);
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
        await expect(store.commit({ key: "g1/del", op: op.set("zombie"), expectVersion: stale.version })).rejects.toBeInstanceOf(
          VersionConflictError,
        );
        await expect(store.commit({ key: "g1/del", op: op.set("fresh"), expectVersion: 0 })).rejects.toBeInstanceOf(VersionConflictError);
        expect(await store.commit({ key: "g1/del", op: op.set("fresh"), expectVersion: 2 })).toMatchObject({ version: 3, exists: true });
        await store.close();
      });

      it("update() retries conflicts until every concurrent increment lands", async () => {
        const store = await open();
        const results = await Promise.all(
          Array.from({ length: 20 }, () => store.update("g1/count", (n) => ((n as number | undefined) ?? 0) + 1, { baseMs: 0, maxMs: 2 })),
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
        expect(err).toMatchObject({ code: "CLAIM_HELD", retryable: true, details: { key: "g2/k", owner: "a", expiresAt: clockNow + 1000 } });
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
        expect(await store.commit({ key: "g2/z", op: op.set("final"), expectVersion: seen.version, epoch: fresh.epoch })).toMatchObject({
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
        const txnErr = await store.txn([{ key: "g2/free", op: op.set(1) }, { key: "g2/nb", op: op.set(1) }]).catch((e: unknown) => e);
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
            return { reason: signal.reason as unknown, write: await store.commit({ key: "g2/wc", op: op.set("late"), epoch: c.epoch }).catch((e: unknown) => e) };
          },
          { owner: "a", ttlMs: 60_000, renewEveryMs: 5 },
        );
        expect(aborted.reason).toBeInstanceOf(FencedError);
        expect(aborted.write).toBeInstanceOf(FencedError);
        expect(await store.currentClaim("g2/wc")).toMatchObject({ owner: "thief" });
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
        expect(err).toMatchObject({ code: "VERSION_CONFLICT", details: { key: "g4/b", expectedVersion: 0, actualVersion: 1 } });
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
          Array.from({ length: 20 }, (_, i) => (i % 2 ? transfer("g4/acct/x", "g4/acct/y", i) : transfer("g4/acct/y", "g4/acct/x", i))),
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
          details: { issues: [{ path: ["op"], message: "increment needs a number as the current value, found a string" }] },
        });
        await expect(store.commit({ key: "bad/s", op: op.append(1) })).rejects.toBeInstanceOf(InvalidInputError);
        expect(await store.read("bad/s")).toMatchObject({ value: "text", version: 1 });
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
        await expect(store.commit({ key: "bad/list", op: op.append("z".repeat(600)) })).rejects.toBeInstanceOf(PayloadTooLargeError);
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
        await expect(store.claim({ key: "c", owner: "", ttlMs: 10 })).rejects.toBeInstanceOf(InvalidInputError);
        await expect(store.claim({ key: "c", owner: "a", ttlMs: 0 })).rejects.toBeInstanceOf(InvalidInputError);
        expect(await store.list({ prefix: "", includeDeleted: true })).toEqual([]);
        expect(await store.currentClaim("c")).toBeNull();
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
        expect(events.map((e) => e.outcome)).toEqual(["committed", "conflict", "claimed", "fenced", "replayed", "released"]);
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
        for (const k of ["l/b", "l/a", "l/c", "lz", "l/é", "l/\u{1F600}"]) await store.commit({ key: k, op: op.set(k) });
        await store.commit({ key: "l/c", op: op.delete() });
        expect((await store.list("l/")).map((r) => r.key)).toEqual(["l/a", "l/b", "l/é", "l/\u{1F600}"]);
        expect((await store.list({ prefix: "l/", includeDeleted: true })).map((r) => r.key)).toEqual(["l/a", "l/b", "l/c", "l/é", "l/\u{1F600}"]);
        expect((await store.list({ prefix: "l/", after: "l/b", limit: 1 })).map((r) => r.key)).toEqual(["l/é"]);
        await store.close();
      });
    });

    it("throws only FencedStateError subclasses, each with a stable code and JSON body", async () => {
      const store = await open();
      const err = await store.commit({ key: "e/k", op: op.set(1), expectVersion: 3 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FencedStateError);
      expect(JSON.parse(JSON.stringify(err))).toEqual({
        error: { code: "VERSION_CONFLICT", message: (err as Error).message, retryable: true, details: { key: "e/k", expectedVersion: 3, actualVersion: 0 } },
      });
      await store.close();
    });
  });
}
