/**
 * The event log (docs/design.md, "The event log"): seqs strictly increase forever, on every backend — a purge never
 * lets a seq be handed out again, so a watcher that resumes "after seq n" never skips a later commit — and the
 * retention options that drive purges are validated when the store opens.
 */
import { afterAll, describe, expect, it } from "vitest";
import { FencedStateError, op, type StateEvent } from "../../src/index.js";
import { backendFixtures } from "../support/backends.js";

for (const fixture of backendFixtures()) {
  describe(`event log: ${fixture.name}`, () => {
    afterAll(() => fixture.cleanup());

    it("hands out strictly increasing seqs across purges: a purge never lets a seq be reused", async () => {
      const store = await fixture.open({ retention: { maxEvents: 1 } });
      const seqs: number[] = [];
      for (let round = 0; round < 4; round++) {
        for (let i = 0; i < 3; i++) seqs.push((await store.commit({ key: `log/k${i}`, op: op.increment(1) })).seq!);
        await store.purge();
        const kept = await store.events("log/");
        expect(kept.map((e) => e.seq)).toEqual([seqs.at(-1)]);
        expect(await store.backend.lastSeq()).toBe(seqs.at(-1));
      }
      for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]!);
      await store.close();
    });

    it("a watcher that resumes after a purge sees every later commit", async () => {
      const store = await fixture.open({ retention: { maxEvents: 1 } });
      const before = await store.commit({ key: "watch/a", op: op.set(1) });
      await store.commit({ key: "watch/a", op: op.set(2) });
      await store.purge();
      const controller = new AbortController();
      // A bound on waiting, not a speed target: a watcher that skipped an event would otherwise wait forever.
      const bound = setTimeout(() => controller.abort(), 20_000);
      const seen: StateEvent[] = [];
      const watching = (async () => {
        for await (const e of store.watch("watch/", {
          fromSeq: before.seq! + 1,
          signal: controller.signal,
          pollMs: 10,
        })) {
          seen.push(e);
          if (seen.length === 4) controller.abort();
        }
      })();
      await store.commit({ key: "watch/a", op: op.set(3) });
      await store.purge();
      await store.commit({ key: "watch/a", op: op.set(4) });
      await store.commit({ key: "watch/b", op: op.set(5) });
      await watching;
      clearTimeout(bound);
      expect(seen.map((e) => [e.key, e.version])).toEqual([
        ["watch/a", 2],
        ["watch/a", 3],
        ["watch/a", 4],
        ["watch/b", 1],
      ]);
      await store.close();
    });

    it("events(), watch() and lastSeq() without a prefix cover every key; lastSeq is 0 before the first commit", async () => {
      const store = await fixture.open();
      expect(await store.lastSeq()).toBe(0);
      const a = await store.commit({ key: "all/a", op: op.set(1) });
      const b = await store.commit({ key: "other/b", op: op.set(2) });
      expect(await store.lastSeq()).toBe(b.seq);
      expect((await store.events()).map((e) => e.key)).toEqual(["all/a", "other/b"]);
      const controller = new AbortController();
      const bound = setTimeout(() => controller.abort(), 20_000);
      const seen: string[] = [];
      for await (const e of store.watch(undefined, { fromSeq: a.seq, signal: controller.signal, pollMs: 10 })) {
        seen.push(e.key);
        if (seen.length === 2) controller.abort();
      }
      clearTimeout(bound);
      expect(seen).toEqual(["all/a", "other/b"]);
      await store.close();
    });

    it("names the bad retention options in the error: maxEvents a whole number of at least 1, idempotencyMs positive", async () => {
      const err = await fixture.open({ retention: { maxEvents: 0.5, idempotencyMs: 0 } }).catch((e: unknown) => e);
      expect(err).toMatchObject({
        code: "INVALID_INPUT",
        details: {
          issues: [
            { path: ["retention", "maxEvents"], message: "must be a whole number of at least 1, got 0.5" },
            { path: ["retention", "idempotencyMs"], message: "must be a positive number of milliseconds, got 0" },
          ],
        },
      });
      const one = await fixture.open({ retention: { maxEvents: 1 } });
      expect(one.retention).toEqual({ maxEvents: 1, idempotencyMs: 24 * 3600 * 1000 });
      await one.close();
    });

    it("refuses retention options that are not positive with INVALID_INPUT when the store opens", async () => {
      const bad = [
        { maxEvents: 0 },
        { maxEvents: -1 },
        { maxEvents: 1.5 },
        { maxEvents: Number.NaN },
        { idempotencyMs: 0 },
        { idempotencyMs: -5 },
      ];
      for (const retention of bad) {
        const err = await fixture.open({ retention }).then(
          async (s) => (await s.close(), undefined),
          (e: unknown) => e,
        );
        expect(err, JSON.stringify(retention)).toBeInstanceOf(FencedStateError);
        expect((err as FencedStateError).code).toBe("INVALID_INPUT");
      }
      const ok = await fixture.open({ retention: { maxEvents: 1, idempotencyMs: 1 } });
      await ok.close();
    });
  });
}
