/**
 * fenced-state: versioned, fenced shared state for multi-agent systems.
 * Exactly one winner per write, a typed retryable conflict for the loser, zombie writers fenced by an epoch,
 * retries made safe by opIds, and nothing dropped silently.
 */
export { openStore, DEFAULT_PATH, type OpenStoreOptions } from "./open.js";
export { StateStore, type StateStoreOptions, type UpdateOptions, type UpdateResult, type WithClaimOptions } from "./core/store.js";
export { op, applyOp } from "./core/ops.js";
export * from "./core/errors.js";
export * from "./core/schemas.js";
export type { Json } from "./core/json.js";
export { mergePatch, canonicalJson } from "./core/json.js";
export { withBackoff, sleep, type BackoffOptions } from "./core/retry.js";
export type { WatchOptions } from "./core/events.js";
export type { TxnItem } from "./core/commit.js";
export type {
  Backend,
  BackendTx,
  KeyState,
  StoredRecord,
  StoredClaim,
  IdempotencyRecord,
  Retention,
  Awaitable,
  BlobRef,
  CheckpointBlob,
  CheckpointQuery,
  CheckpointReader,
  CheckpointRef,
  CheckpointRow,
  CheckpointTx,
  CheckpointWrite,
  LoadedCheckpoint,
} from "./core/backend.js";
export { MemoryBackend } from "./backends/memory.js";
export { SqliteBackend, type SqliteBackendOptions } from "./backends/sqlite.js";
