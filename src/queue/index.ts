/**
 * fenced-state/queue: a zombie-safe work queue (docs/queue.md) on the core's claims and guarded txns.
 */
export { WorkQueue, workQueue, QUEUE_ROOT, type CompleteOptions, type DeadTask, type DoneTask } from "./queue.js";
export { QueueKeys, type TaskState } from "./keys.js";
export { appendSequenced, type Appended } from "./log.js";
export * from "./schemas.js";
