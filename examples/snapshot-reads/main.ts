/**
 * Snapshot reads: an agent that decides from two keys reads them at one event-log position, so it never reasons over a
 * torn pair (one key after a txn, the other before it). A bookkeeper moves budget between `budget/available` and
 * `budget/reserved` in txns; the planner reads both with `readMany`, and commits its plan guarded by the versions it
 * read, so a plan made from a snapshot that has since moved is refused. Runs offline on a temporary SQLite file.
 *   npx tsx examples/snapshot-reads/main.ts
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { VersionConflictError, op, openStore, type Snapshot } from "../../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "fenced-snapshot-"));
const store = await openStore({ path: join(dir, "state.db") });
const AVAILABLE = "budget/available";
const RESERVED = "budget/reserved";
const total = (s: Snapshot) => s.records.reduce((sum, r) => sum + (r.value as number), 0);

await store.txn([
  { key: AVAILABLE, op: op.set(100) },
  { key: RESERVED, op: op.set(0) },
]);

/** The bookkeeper's move: both keys in one txn, so the total is 100 in every committed state. */
const reserve = (amount: number) =>
  store.txn([
    { key: AVAILABLE, op: op.increment(-amount) },
    { key: RESERVED, op: op.increment(amount) },
  ]);

// 1. One key at a time: a txn lands between the two reads, and the pair the agent holds never existed.
const available = await store.read(AVAILABLE);
await reserve(30);
const reserved = await store.read(RESERVED);
console.log(
  `one key at a time: available=${String(available.value)} (v${available.version}), reserved=${String(reserved.value)} ` +
    `(v${reserved.version}): total ${(available.value as number) + (reserved.value as number)} — a torn pair`,
);

// 2. readMany: both keys at one snapshot, and the seq it reflects (every event up to it, none after).
const snap = await store.readMany([AVAILABLE, RESERVED]);
const [av, re] = snap.records;
console.log(
  `readMany at seq ${snap.seq}: available=${String(av!.value)} (v${av!.version}), reserved=${String(re!.value)} (v${re!.version}): total ${total(snap)}`,
);
const page = await store.listSnapshot("budget/");
console.log(
  `listSnapshot("budget/") at seq ${page.seq}: ${page.records.map((r) => `${r.key}=${String(r.value)}`).join(", ")}`,
);

// 3. Decide from the snapshot, and commit the decision only if both inputs are still the versions read.
const guards = snap.records.map((r) => ({ key: r.key, version: r.version }));
const plan = await store.commit({
  key: "plans/q3",
  op: op.set({ spend: av!.value as number, fromSeq: snap.seq }),
  guards,
});
console.log(`planner commits plans/q3 from seq ${snap.seq}, guarded by both versions: committed at seq ${plan.seq}`);

// 4. Another move lands; a plan from the old snapshot is refused instead of acting on a state that is gone.
await reserve(20);
try {
  await store.commit({ key: "plans/q4", op: op.set({ spend: av!.value as number, fromSeq: snap.seq }), guards });
} catch (err) {
  if (!(err instanceof VersionConflictError)) throw err;
  console.log(
    `a plan from seq ${snap.seq} after another move: VERSION_CONFLICT on ${err.details.key}, v${err.details.expectedVersion} is now v${err.details.actualVersion}`,
  );
}

// 5. Under load: 100 moves and 100 snapshots at once; no snapshot shows a move in part.
let moving = true;
const moves = Promise.all(Array.from({ length: 100 }, (_, i) => reserve(i % 2 === 0 ? 1 : -1))).finally(
  () => (moving = false),
);
const snapshots: Snapshot[] = [];
const reader = async () => {
  while (moving || snapshots.length === 0) snapshots.push(await store.readMany([AVAILABLE, RESERVED]));
};
await Promise.all([moves, reader()]);
const torn = snapshots.filter((s) => total(s) !== 100 || s.records[0]!.version !== s.records[1]!.version).length;
console.log(`${snapshots.length} snapshots taken during 100 concurrent moves: ${torn} torn`);

await store.close();
rmSync(dir, { recursive: true, force: true });
