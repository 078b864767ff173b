/**
 * Advisory-lock ids. A key's lock serializes every transaction that decides about that key, whether or not its row
 * exists yet (a row lock could not cover a key that is about to be created). Ids are 64-bit hashes of
 * (schema, kind, name), so stores in different schemas of one database do not contend.
 */
import { createHash } from "node:crypto";
import { LRUCache } from "lru-cache";

/**
 * `key`: a key's record, `claim`: its claim (tx.ts, `prepare`); `events`: the critical section in which a seq is taken
 * (events.ts); `listen`: held by listeners (notify.ts).
 */
export type LockKind = "key" | "claim" | "op" | "migrate" | "events" | "listen";

/** Ids computed lately: a commit names the same keys again and again (a thread's head on every put). */
const recent = new LRUCache<string, string>({ max: 1024 });

/** The signed 64-bit advisory-lock id of (schema, kind, name), as a decimal string for a `bigint` parameter. */
export function lockId(schema: string, kind: LockKind, name: string): string {
  const input = `${schema}\u0000${kind}\u0000${name}`;
  let id = recent.get(input);
  if (id === undefined) {
    id = createHash("sha256").update(input).digest().readBigInt64BE(0).toString();
    recent.set(input, id);
  }
  return id;
}

/**
 * The ids in the one global order every transaction takes its locks in (ascending, duplicates dropped). Two
 * transactions that each take their whole set in this order cannot wait on each other in a cycle.
 */
export function lockOrder(ids: Iterable<string>): string[] {
  return [...new Set(ids)].sort((a, b) => {
    const x = BigInt(a);
    const y = BigInt(b);
    return x < y ? -1 : x > y ? 1 : 0;
  });
}
