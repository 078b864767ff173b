/**
 * Snapshot reads (docs/snapshots.md): `readMany` and `listSnapshot` read at one event-log position. Txns that move
 * value between keys run concurrently with snapshots, in an order a fast-check scheduler chooses, on every backend;
 * each snapshot must equal the state the event log describes up to its `seq` (a prefix state): every key at the
 * version of its last committed event with a seq up to the snapshot's, none later, and the value that commit wrote.
 */
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { StateStore, op, type Json, type Snapshot, type StateEvent, type StateRecord } from "../../src/index.js";
import { backendFixtures } from "../support/backends.js";
import { scheduled } from "../support/scheduled.js";

const RUNS = Number(process.env.FENCED_SCHEDULER_RUNS ?? 100);

/** The state the event log describes after every event with seq <= `seq`: each key at its last committed version. */
function prefixState(
  keys: string[],
  events: StateEvent[],
  values: Map<string, Json>,
  seq: number,
): Map<string, StateRecord> {
  const state = new Map<string, StateRecord>();
  for (const key of keys) state.set(key, { key, exists: false, version: 0, epoch: 0 });
  for (const e of events) {
    if (e.seq > seq || e.outcome !== "committed") continue;
    state.set(e.key, {
      key: e.key,
      exists: true,
      version: e.version,
      epoch: e.epoch,
      value: values.get(`${e.key}@${e.version}`)!,
    });
  }
  return state;
}

/** A snapshot's records without `updatedAt`, which the event log does not carry. */
const comparable = (r: StateRecord): StateRecord => {
  const { updatedAt: _, ...rest } = r;
  return rest;
};

const Move = fc.record({
  from: fc.integer({ min: 0, max: 2 }),
  step: fc.integer({ min: 1, max: 2 }),
  amount: fc.integer({ min: 1, max: 9 }),
  third: fc.boolean(),
});

for (const fixture of backendFixtures()) {
  describe(`snapshot reads: ${fixture.name}`, () => {
    afterAll(() => fixture.cleanup());

    it(`every readMany and listSnapshot is a prefix state of the event log, over ${RUNS} scheduler-chosen interleavings with txns`, async () => {
      const base = await fixture.open();
      let run = 0;
      let between = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.scheduler(),
          fc.array(Move, { minLength: 1, maxLength: 5 }),
          fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }),
          async (s, moves, lists) => {
            const prefix = `p${run++}/`;
            const keys = [0, 1, 2].map((i) => `${prefix}k${i}`);
            const init = await base.txn(keys.map((key) => ({ key, op: op.set(10) })));
            const store = new StateStore(
              scheduled(base.backend, s, ["transact", "snapshot", "getRecord", "listRecords", "lastSeq"]),
            );
            // Each txn moves `amount` from one key to another, and with `third` writes the remaining key too (+0), so
            // every key's version moves with the txns that touch it.
            const deltas = moves.map(({ from, step, amount, third }) => {
              const to = (from + step) % 3;
              return new Map([
                [keys[from]!, -amount],
                [keys[to]!, amount],
                ...(third ? [[keys[3 - from - to]!, 0] as const] : []),
              ]);
            });
            const txns = deltas.map((delta) =>
              store.txn([...delta].map(([key, by]) => ({ key, op: op.increment(by) }))),
            );
            const snaps = lists.map(
              (list, i): Promise<Snapshot> =>
                list ? store.listSnapshot(prefix) : store.readMany(i % 2 === 0 ? keys : [...keys].reverse()),
            );
            const [results, seen] = await s.waitFor(Promise.all([Promise.all(txns), Promise.all(snaps)]));

            // The value each commit wrote, by replaying the txns in the order they committed (their seqs).
            const values = new Map<string, Json>(keys.map((key) => [`${key}@1`, 10]));
            const current = new Map(keys.map((key) => [key, 10]));
            const order = results
              .map((t, i) => ({ t, delta: deltas[i]! }))
              .sort((a, b) => a.t.results[0]!.seq - b.t.results[0]!.seq);
            for (const { t, delta } of order) {
              for (const r of t.results) {
                current.set(r.key, current.get(r.key)! + delta.get(r.key)!);
                values.set(`${r.key}@${r.version}`, current.get(r.key)!);
              }
            }
            const events = await base.events(prefix, { fromSeq: 1, limit: 10_000 });
            const lastSeq = await base.lastSeq();
            const firstTxn = Math.min(...results.map((t) => t.results[0]!.seq));
            const lastTxn = Math.max(...results.map((t) => t.results[0]!.seq));
            for (const snap of seen) {
              expect(snap.seq).toBeGreaterThanOrEqual(init.results[0]!.seq);
              expect(snap.seq).toBeLessThanOrEqual(lastSeq);
              const state = prefixState(keys, events, values, snap.seq);
              const expected = snap.records.map((r) => state.get(r.key)!);
              expect(snap.records.map(comparable), `snapshot at seq ${snap.seq}`).toEqual(expected);
              expect(snap.records.reduce((sum, r) => sum + (r.value as number), 0)).toBe(30);
              if (snap.seq >= firstTxn && snap.seq < lastTxn) between++;
            }
          },
        ),
        { numRuns: RUNS },
      );
      // The scheduler really put snapshots between txns, not only before or after all of them.
      expect(between).toBeGreaterThan(0);
      await base.close();
    });
  });
}
