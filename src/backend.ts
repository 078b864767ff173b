/**
 * `fenced-state/backend`: for people who write backends or validate requests themselves. The storage contract a
 * backend implements (every rule lives in the core commit; backends store, they do not decide), the lineage contract
 * the LangGraph saver stores through, the built-in backends, and the zod schemas every entry point validates with.
 * Applications use the root entry (`fenced-state`) instead.
 */
export type {
  Backend,
  BackendTx,
  KeyState,
  StoredRecord,
  StoredClaim,
  IdempotencyRecord,
  Retention,
  Awaitable,
  ListQuery,
  SnapshotReader,
} from "./core/backend.js";
export { DEFAULT_RETENTION } from "./core/backend.js";
export * from "./core/checkpoints.js";
export * from "./core/schemas.js";
export {
  EffectIntentRequestSchema,
  EffectOutcomeRequestSchema,
  EffectRecordSchema,
  EffectIntentSchema,
  EffectOutcomeSchema,
  MAX_EFFECT_OP_ID_LENGTH,
} from "./core/effects.js";
export { applyOp } from "./core/ops.js";
export { canonicalJson } from "./core/json.js";
export { MemoryBackend } from "./backends/memory/backend.js";
export { SqliteBackend, type SqliteBackendOptions } from "./backends/sqlite/backend.js";
