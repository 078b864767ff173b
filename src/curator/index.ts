/** The memory-curator pattern (docs/curator.md): workers emit memory events, one fenced curator folds them. */
export {
  CURATOR_ROOT,
  MemoryCurator,
  MemoryEventSchema,
  MemoryInbox,
  type BatchReport,
  type CuratorOptions,
  type Cursor,
  type MemoryEvent,
} from "./curator.js";
