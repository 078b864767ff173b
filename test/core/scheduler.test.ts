/**
 * Concurrency under a fast-check scheduler (`fc.scheduler`): every backend read and transaction is released in an
 * order fast-check chooses, so the interleavings of concurrent `update()`s, reclaims, zombie commits and duplicate
 * opId retries are explored and shrunk. The spec's invariants (specs/README.md) must hold on every history:
 * - G1: the counter equals the number of acknowledged increments (no lost update); versions form one chain;
 * - G2: no commit under a superseded epoch lands after the reclaim that superseded it, nor a commit on another key
 *   guarded by that epoch (a guard is checked in the commit's own transaction);
 * - G3: an opId sent twice concurrently is applied once, and both callers get the same result.
 */
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { FencedStateError, StateStore, op } from "../../src/index.js";
import { backendFixtures } from "../support/backends.js";
import { scheduled } from "../support/scheduled.js";

const RUNS = Number(process.env.FENCED_SCHEDULER_RUNS ?? 150);

const settle = <T>(p: Promise<T>) =>
  p.then(
    (value) => ({ ok: true as const, value }),
    (err: unknown) => {
      if (!(err instanceof FencedStateError)) throw err;
      return { ok: false as const, code: err.code };
    },
  );

for (const fixture of backendFixtures()) {
  describe(`scheduled interleavings: ${fixture.name}`, () => {
    afterAll(() => fixture.cleanup());

    it(`keeps G1–G3 over ${RUNS} scheduler-chosen interleavings of updates, reclaims, zombie commits and duplicate opIds`, async () => {
      const base = await fixture.open();
      let run = 0;
      const seen = { zombieLanded: 0, zombieFenced: 0, guardedLanded: 0, guardedFenced: 0, conflicts: 0 };
      await fc.assert(
        fc.asyncProperty(
          fc.scheduler(),
          fc.integer({ min: 1, max: 3 }),
          fc.boolean(),
          async (s, writers, stealFirst) => {
            const prefix = `s${run++}`;
            const store = new StateStore(scheduled(base.backend, s, ["transact", "getRecord", "getClaim"]));
            const counter = `${prefix}/counter`;
            const job = `${prefix}/job`;

            // The zombie claims the job before anything else runs; the rescuer's steal races with the zombie's commit.
            const zombieClaim = await base.claim({ key: job, owner: "zombie", ttlMs: 60_000 });
            const tasks = {
              updates: Array.from({ length: writers }, () =>
                settle(
                  store.update(counter, (n) => ((n as number | undefined) ?? 0) + 1, {
                    retries: 100,
                    baseMs: 0,
                    maxMs: 0,
                  }),
                ),
              ),
              rescue: settle(store.claim({ key: job, owner: "rescuer", ttlMs: 60_000, steal: true })),
              zombie: settle(store.commit({ key: job, op: op.set("zombie"), epoch: zombieClaim.epoch })),
              // The zombie's result, on a key it does not hold, guarded by its claim on the job.
              guarded: settle(
                store.commit({
                  key: `${prefix}/result`,
                  op: op.set("zombie"),
                  guards: [{ key: job, epoch: zombieClaim.epoch }],
                }),
              ),
              dupes: [1, 2].map(() =>
                settle(store.commit({ key: `${prefix}/pay`, op: op.increment(10), opId: `${prefix}-pay` })),
              ),
            };
            if (stealFirst) await s.waitFor(tasks.rescue);
            // waitFor keeps releasing calls until everything settles, including calls made after a backoff timer.
            const all = Promise.all([
              Promise.all(tasks.updates),
              tasks.rescue,
              tasks.zombie,
              Promise.all(tasks.dupes),
              tasks.guarded,
            ]);
            const [updates, rescue, zombie, dupes, guarded] = await s.waitFor(all);

            // G1: every acknowledged increment is in the counter, and versions form one chain.
            const acked = updates.filter((u) => u.ok).length;
            expect(acked).toBe(writers);
            expect(await base.read(counter)).toMatchObject({ value: acked, version: acked });
            // G2: the zombie's commit lands only if it ran before the steal; after the steal it is FENCED.
            expect(rescue.ok).toBe(true);
            const events = await base.events(`${prefix}/`, { fromSeq: 1, limit: 10_000 });
            const jobEvents = events.filter((e) => e.key === job);
            const stealSeq = jobEvents.find((e) => e.outcome === "claimed" && e.owner === "rescuer")!.seq;
            const zombieCommit = jobEvents.find((e) => e.outcome === "committed");
            if (zombie.ok) expect(zombieCommit!.seq).toBeLessThan(stealSeq);
            else expect(zombie.code).toBe("FENCED");
            seen[zombie.ok ? "zombieLanded" : "zombieFenced"]++;
            // The same for the guarded write: it lands only before the steal.
            const guardedCommit = events.find((e) => e.key === `${prefix}/result` && e.outcome === "committed");
            if (guarded.ok) expect(guardedCommit!.seq).toBeLessThan(stealSeq);
            else expect(guarded.code).toBe("FENCED");
            seen[guarded.ok ? "guardedLanded" : "guardedFenced"]++;
            seen.conflicts += updates.reduce((n, u) => n + (u.ok ? u.value.attempts - 1 : 0), 0);
            // G3: the same opId twice, concurrently: applied once, the same result for both callers.
            expect(dupes.every((d) => d.ok)).toBe(true);
            const results = dupes.map((d) => (d.ok ? d.value : undefined))!;
            expect(results.map((r) => r!.replayed).sort()).toEqual([false, true]);
            expect(results[0]!.version).toBe(results[1]!.version);
            expect(await base.read(`${prefix}/pay`)).toMatchObject({ value: 10, version: 1 });
          },
        ),
        { numRuns: RUNS },
      );
      // The scheduler really explored: both zombie outcomes and update conflicts occurred.
      expect(seen.zombieLanded).toBeGreaterThan(0);
      expect(seen.zombieFenced).toBeGreaterThan(0);
      expect(seen.guardedLanded).toBeGreaterThan(0);
      expect(seen.guardedFenced).toBeGreaterThan(0);
      expect(seen.conflicts).toBeGreaterThan(0);
      await base.close();
    });
  });
}
