/**
 * fenced-state: versioned, fenced shared state for multi-agent systems.
 * Exactly one winner per write, a typed retryable conflict for the loser, zombie writers fenced by an epoch,
 * retries made safe by opIds, and nothing dropped silently.
 *
 * This entry is what applications call: the store, its ops, the errors, and the types of requests and results.
 * The storage contract (for people who write backends) and the zod schemas are in `fenced-state/backend`.
 */
export { openStore, DEFAULT_PATH, type OpenStoreOptions } from "./open.js";
export {
  StateStore,
  type StateStoreOptions,
  type UpdateOptions,
  type UpdateResult,
  type WithClaimOptions,
} from "./core/store.js";
export { op } from "./core/ops.js";
export { newOpId } from "./core/op-id.js";
export { claimAndRun, type OnBusy, type ClaimAndRunOptions, type HeldRun } from "./core/run-claim.js";
export {
  runEffect,
  beginEffect,
  finishEffect,
  type EffectRequest,
  type EffectResult,
  type EffectIntentRequest,
  type EffectIntent,
  type EffectOutcomeRequest,
  type EffectOutcome,
  type EffectRecord,
  type EffectStatus,
} from "./core/effects.js";
export * from "./core/errors.js";
export type {
  Op,
  Guard,
  CommitRequest,
  TxnRequest,
  ClaimRequest,
  ClaimRef,
  RenewRequest,
  ListRequest,
  StateRecord,
  Snapshot,
  CommitResult,
  TxnResult,
  Claim,
  Outcome,
  StateEvent,
  EventsOptions,
  Limits,
} from "./core/schemas.js";
export type { Json } from "./core/json.js";
export { mergePatch } from "./core/json.js";
export { withBackoff, type BackoffOptions } from "./core/retry.js";
export type { WatchOptions } from "./core/events.js";
export type { TxnItem } from "./core/commit.js";
