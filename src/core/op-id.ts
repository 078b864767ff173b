/**
 * New opIds (G3) as fenced-state's own clients make them: time-ordered UUIDs (UUIDv7, RFC 9562), increasing within a
 * process. Every backend keeps an opId's record in a B-tree keyed by the opId, so an opId that sorts after the earlier
 * ones lands on the tree's last page, which the commits landing with it write anyway; a random opId (UUIDv4) lands on
 * a page of its own, one more page per commit (docs/design.md §3, "Idempotency records"). Any string is still a valid
 * opId: this only chooses what the library and its clients send when the caller gives none.
 */
import { v7 } from "uuid";

/**
 * A fresh opId: a UUIDv7, later than every opId this process made before it.
 *
 * @example
 * ```ts
 * const opId = newOpId(); // keep it with the request, send the same one again on retry
 * await store.commitRetryingUnavailable({ key: "orders/42", op: op.set("paid"), opId });
 * ```
 */
export function newOpId(): string {
  return v7();
}
