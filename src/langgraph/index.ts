/**
 * fenced-state for LangGraph (`fenced-state/langgraph`): a checkpointer on which concurrent runs, other processes and
 * zombie runs cannot lose updates; run claims with double-texting strategies; a retry helper; fenced reducers for
 * parallel branches and `Send`; and a `BaseStore` for cross-thread memory. docs/design.md §6.
 */
export { FencedCheckpointSaver, type FencedCheckpointSaverOptions } from "./saver.js";
export { EncryptedSerializer, type EncryptedSerializerOptions } from "./encrypted.js";
export { importCheckpoints, type ImportCheckpointsOptions, type ImportCounts, type ImportResult } from "./import.js";
export { forkConfig, readFencedConfig, FENCED_CONFIG_KEYS, type FencedConfig } from "./config.js";
export {
  withThreadClaim,
  invokeWithClaim,
  invokeWithRetry,
  fencedSaverOf,
  type MultitaskStrategy,
  type ThreadClaimOptions,
  type ThreadRun,
  type InvokableGraph,
  type InvokeWithRetryOptions,
} from "./runs.js";
export type { InvokeInputKind, PendingInterrupt, RerunCheck } from "./rerun.js";
export {
  edit,
  valuesOf,
  fencedMapReducer,
  fencedMapAnnotation,
  fencedMapSchema,
  FencedEdits,
  FencedMapUpdateSchema,
  type FencedMap,
  type FencedField,
  type DeletedField,
  type FencedMapUpdate,
  type FencedMapOptions,
  type FieldOp,
  type FieldMerge,
  type FieldConflict,
  type FieldValues,
} from "./reducers.js";
export { FencedStore, type FencedStoreOptions, type FencedItem, type StoreTtl } from "./store.js";
export { SWEPT_KEYS, type LifecycleCounts, type PruneStrategy, type ThreadTtl } from "./lifecycle.js";
export type { SweepCounts } from "./retention.js";
export type { ThreadStatus, ThreadRunRecord } from "./status.js";
