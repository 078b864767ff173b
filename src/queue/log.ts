/**
 * A sequenced, append-only log on core records: each append takes the next seq and is idempotent by opId. It is the
 * enqueue of the work queue and the emit of the memory curator.
 *
 * Why the seq comes from a counter record committed in the same txn as the entry: entry `n` and `next = n` land
 * together, and entry `n + 1` can only be written by a txn that read `next = n`. So entries become visible in seq
 * order: a reader that has seen entry `n` will never later find an entry below `n`, and a cursor ("every seq ≤ n is
 * processed") never skips one. Appends to one log conflict on the counter and retry (O(1) work each; throughput is
 * one append per commit round trip per log).
 *
 * Idempotency is an `ops/<opId>` record written in the same txn, not the core's opId table: the entry's key (its seq)
 * differs between attempts, and the record never expires, so a retry days later still finds its first seq.
 */
import { IdempotencyMismatchError, isErrorCode } from "../core/errors.js";
import { payloadHash, type Json } from "../core/json.js";
import { op } from "../core/ops.js";
import { withBackoff } from "../core/retry.js";
import type { StateStore } from "../core/store.js";
import type { TxnItem } from "../core/commit.js";
import type { QueueKeys } from "./keys.js";

/** What an append answers: the entry's seq and key, and whether this call wrote it (`false`: an earlier one did). */
export interface Appended {
  seq: number;
  key: string;
  created: boolean;
}

interface OpRecord {
  seq: number;
  hash: string;
}

/**
 * Appends `entry.value(seq)` as the next entry of directory `dir` of the log `keys`, once per `opId`. The same opId
 * with another `identity` (what makes two appends "the same") throws `IdempotencyMismatchError` and writes nothing.
 */
export async function appendSequenced(
  store: StateStore,
  keys: QueueKeys,
  dir: string,
  entry: { opId: string; identity: Json; value: (seq: number) => Json; owner?: string | undefined },
): Promise<Appended> {
  const opKey = keys.op(entry.opId);
  const hash = payloadHash(entry.identity);
  return withBackoff(
    async () => {
      const first = await store.read(opKey);
      if (first.exists) {
        const known = first.value as unknown as OpRecord;
        if (known.hash !== hash) throw new IdempotencyMismatchError({ opId: entry.opId });
        return { seq: known.seq, key: keys.task(dir, known.seq), created: false };
      }
      const counter = await store.read(keys.next);
      const seq = counter.version + 1;
      const owner = entry.owner === undefined ? {} : { owner: entry.owner };
      const requests: TxnItem[] = [
        { key: keys.next, op: op.set({ seq }), expectVersion: counter.version, ...owner },
        { key: opKey, op: op.set({ seq, hash }), expectVersion: 0, ...owner },
        { key: keys.task(dir, seq), op: op.set(entry.value(seq)), expectVersion: 0, ...owner },
      ];
      await store.txn(requests);
      return { seq, key: keys.task(dir, seq), created: true };
    },
    // A conflict on the counter (another append) or on ops/<opId> (a concurrent retry of this one) re-reads; so does
    // UNAVAILABLE (outcome unknown): the re-read of ops/<opId> tells whether the first attempt landed.
    (err) => isErrorCode(err, "VERSION_CONFLICT") || isErrorCode(err, "UNAVAILABLE"),
    { retries: 100, baseMs: 2, maxMs: 100 },
  );
}
