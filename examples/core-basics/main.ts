/**
 * The core API in one file: commit with a version check, a typed conflict, update() with retries, a claim whose
 * epoch fences a zombie, an idempotent retry, a txn, and the event log. Runs offline on a temporary SQLite file.
 *   npx tsx examples/core-basics/main.ts
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FencedError, VersionConflictError, op, openStore } from "../../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "fenced-example-"));
const store = await openStore({ path: join(dir, "state.db") }); // openStore() alone uses ./.fenced/state.db

// 1. Compare-and-commit: expectVersion is the version you read (0 = "must not exist yet").
const created = await store.commit({ key: "team/notes", op: op.set(["kickoff"]), expectVersion: 0 });
console.log("created team/notes at version", created.version);

// 2. A writer holding a stale version gets a typed, retryable conflict and changes nothing.
try {
  await store.commit({ key: "team/notes", op: op.set(["stale"]), expectVersion: 0 });
} catch (err) {
  if (err instanceof VersionConflictError)
    console.log("stale writer:", err.code, err.details, "retryable:", err.retryable);
}

// 3. update(): read, apply a pure function, commit; conflicts are retried with jittered backoff.
await Promise.all(
  ["alice", "bob", "carol"].map((who) => store.update("team/notes", (notes) => [...(notes as string[]), who])),
);
console.log("notes after 3 concurrent updates:", (await store.read("team/notes")).value);

// 4. Commutative ops never conflict with each other.
await Promise.all([1, 2, 3].map((n) => store.commit({ key: "team/count", op: op.increment(n) })));
console.log("count:", (await store.read("team/count")).value);

// 5. Claims: the epoch is a fencing token. A reclaimed holder is FENCED, even if the version did not move.
const mine = await store.claim({ key: "team/report", owner: "worker-1", ttlMs: 30_000 });
await store.claim({ key: "team/report", owner: "worker-2", ttlMs: 30_000, steal: true });
try {
  await store.commit({ key: "team/report", op: op.set("late"), epoch: mine.epoch });
} catch (err) {
  if (err instanceof FencedError)
    console.log(
      "zombie write:",
      err.code,
      err.details.reason,
      `(epoch ${err.details.heldEpoch} < ${err.details.currentEpoch})`,
    );
}

// 6. Idempotency: retrying with the same opId returns the first result and applies nothing twice.
const first = await store.commit({ key: "team/count", op: op.increment(10), opId: "payment-42" });
const retry = await store.commit({ key: "team/count", op: op.increment(10), opId: "payment-42" });
console.log(
  "retry replayed:",
  retry.replayed,
  "same version:",
  retry.version === first.version,
  "count:",
  (await store.read("team/count")).value,
);

// 7. A txn is all-or-nothing across keys.
await store.txn([
  { key: "team/a", op: op.set(1) },
  { key: "team/b", op: op.set(2) },
]);

// 8. The event log records every outcome.
const outcomes = (await store.events("team/", { fromSeq: 1 })).map((e) => e.outcome);
console.log("event log:", outcomes.join(", "));

await store.close();
rmSync(dir, { recursive: true, force: true });
