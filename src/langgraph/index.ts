/**
 * fenced-state for LangGraph (`fenced-state/langgraph`): a checkpointer on which concurrent runs, other processes and
 * zombie runs cannot lose updates, run claims with double-texting policies, a retry helper, fenced reducers for
 * parallel branches, and a `BaseStore` for cross-thread memory.
 */
export { FencedCheckpointSaver, type FencedCheckpointSaverOptions } from "./saver.js";
export { forkConfig, readFencedConfig, FENCED_CONFIG_KEYS, type FencedConfig } from "./config.js";
