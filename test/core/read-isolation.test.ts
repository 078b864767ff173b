/**
 * G1 read isolation (docs/design.md, "Read isolation"): a read outside a transaction sees committed state only, on
 * every backend. A commit that rolls back (its `within` throws, as the LangGraph saver's run fence does for a zombie)
 * must never have been visible: a reader that saw it could commit a value computed from a version that never existed
 * once a real commit reaches the same version number, overwriting an acknowledged update.
 */
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { FencedStateError, StateStore, op, type Json } from "../../src/index.js";
import { backendFixtures } from "../support/backends.js";
import { scheduled } from "../support/scheduled.js";
import { commitWithin } from "../support/within.js";

const RUNS = Number(process.env.FENCED_SCHEDULER_RUNS ?? 150);

class RolledBack extends Error {}

for (const fixture of backendFixtures()) {
  describe(`read isolation (G1): ${fixture.name}`, () => {
    afterAll(() => fixture.cleanup());

    it("G1: update() never computes from a commit that rolls back, so no acknowledged update is lost", async () => {
      const store = await fixture.open();
      const key = "iso/lost";
      await store.commit({ key, op: op.set(1) });
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      // A commit whose transaction stays open across event-loop turns, then rolls back.
      const phantom = commitWithin(store, { key, op: op.set(100) }, async () => {
        await gate;
        throw new RolledBack("rolled back after writing");
      });
      await new Promise((resolve) => setTimeout(resolve, 20));

      const seen: (Json | undefined)[] = [];
      const updated = await store.update(
        key,
        async (current) => {
          seen.push(current);
          if (seen.length === 1) {
            // While this update computes, the phantom rolls back and a real commit reaches version 2 and is acknowledged.
            release();
            await expect(phantom).rejects.toThrow();
            expect((await store.commit({ key, op: op.set(5) })).version).toBe(2);
          }
          return (current as number) + 1;
        },
        { baseMs: 0, maxMs: 0 },
      );

      expect(seen).not.toContain(100);
      expect(updated.value).toBe(6);
      expect(await store.read(key)).toMatchObject({ value: 6, version: 3 });
      await store.close();
    });

    it(`G1: every read, list and event page returns committed state over ${RUNS} scheduler-chosen interleavings with rolled-back commits`, async () => {
      const base = await fixture.open();
      let run = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.scheduler(),
          fc.array(fc.boolean(), { minLength: 1, maxLength: 6 }),
          fc.integer({ min: 1, max: 6 }),
          async (s, commits, reads) => {
            const prefix = `r${run++}`;
            const key = `${prefix}/k`;
            const store = new StateStore(
              scheduled(base.backend, s, ["getRecord", "getClaim", "listRecords", "readEvents"]),
            );
            // Each commit writes a value of its own, then waits for the scheduler inside its open transaction, and
            // then either lands or throws (rolls back its savepoint, or the whole group when it is the first).
            const attempts = commits.map((fails, i) => {
              const value = `${prefix}-v${i}`;
              const opId = `${prefix}-op${i}`;
              const done = commitWithin(store, { key, op: op.append(value), opId }, async () => {
                await s.schedule(Promise.resolve(), `within ${i}${fails ? " (rolls back)" : ""}`);
                if (fails) throw new RolledBack(value);
              });
              return {
                fails,
                value,
                opId,
                done: done.then(
                  () => true,
                  (err: unknown) => {
                    if (!(err instanceof RolledBack) && !(err instanceof FencedStateError)) throw err;
                    return false;
                  },
                ),
              };
            });
            const observed = Array.from({ length: reads }, async () => ({
              record: await store.read(key),
              listed: await store.list(`${prefix}/`),
              events: await store.events(`${prefix}/`),
            }));
            const landed = await s.waitFor(Promise.all(attempts.map((a) => a.done)));
            const seen = await s.waitFor(Promise.all(observed));

            const committedValues = attempts.filter((_, i) => landed[i]).map((a) => a.value);
            const committedOps = attempts.filter((_, i) => landed[i]).map((a) => a.opId);
            expect(landed).toEqual(commits.map((fails) => !fails));
            for (const { record, listed, events } of seen) {
              for (const r of [record, ...listed]) {
                for (const v of r.exists ? (r.value as string[]) : [])
                  expect(committedValues, `read ${v}`).toContain(v);
                expect(r.version).toBeLessThanOrEqual(committedValues.length);
              }
              for (const e of events) {
                if (e.outcome === "committed") expect(committedOps, `event of ${e.opId}`).toContain(e.opId);
              }
            }
            const final = await base.read(key);
            // Postgres commits concurrent transactions in any order; the others in call order.
            expect([...((final.exists ? final.value : []) as string[])].sort()).toEqual(committedValues.sort());
          },
        ),
        { numRuns: RUNS },
      );
      await base.close();
    });
  });
}
