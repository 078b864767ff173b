/**
 * The `configurable` keys fenced-state reads from a LangGraph config. LangGraph passes every configurable key of an
 * invoke through to the saver's `put` and `putWrites`, so a run's fencing token and fork intent travel with it.
 */
import type { RunnableConfig } from "@langchain/core/runnables";
import { InvalidInputError } from "../core/errors.js";
import { isWellFormed } from "../core/schemas.js";

/** Names of the configurable keys fenced-state understands. */
export const FENCED_CONFIG_KEYS = {
  /** The run's claim epoch (fencing token), set by `withThreadClaim`. */
  epoch: "fenced_epoch",
  /** Who writes, recorded in the event log. */
  owner: "fenced_owner",
  /**
   * An explicit fork: the checkpoint ids the run may branch from although they are not the head (see `forkConfig`).
   * A string or an array of strings.
   */
  forkFrom: "fenced_fork_from",
  /** Identifies one attempt of `invokeWithRetry`, so it can tell whether the attempt landed any checkpoint. */
  attempt: "fenced_attempt",
} as const;

/** The fenced-state part of a config's `configurable`. */
export interface FencedConfig {
  epoch?: number;
  owner?: string;
  /** The checkpoints named as fork points (never empty when present). */
  forkFrom?: readonly string[];
  attempt?: string;
}

/** Reads and checks the fenced-state keys of `configurable`; a malformed one is `INVALID_INPUT`. */
export function readFencedConfig(configurable: Record<string, unknown> | undefined): FencedConfig {
  const out: FencedConfig = {};
  if (!configurable) return out;
  const epoch = configurable[FENCED_CONFIG_KEYS.epoch];
  if (epoch !== undefined) {
    if (!Number.isSafeInteger(epoch) || (epoch as number) < 0)
      throw invalid(FENCED_CONFIG_KEYS.epoch, "a non-negative integer");
    out.epoch = epoch as number;
  }
  for (const field of ["owner", "attempt"] as const) {
    const value = configurable[FENCED_CONFIG_KEYS[field]];
    if (value === undefined) continue;
    if (!isId(value)) throw invalid(FENCED_CONFIG_KEYS[field], "a non-empty, well-formed string");
    out[field] = value;
  }
  const forkFrom = configurable[FENCED_CONFIG_KEYS.forkFrom];
  if (forkFrom !== undefined) {
    const ids = Array.isArray(forkFrom) ? (forkFrom as unknown[]) : [forkFrom];
    if (ids.length === 0 || !ids.every(isId))
      throw invalid(FENCED_CONFIG_KEYS.forkFrom, "a non-empty string or array of them");
    out.forkFrom = ids;
  }
  return out;
}

/**
 * Marks a config as an explicit fork from the checkpoint it names, for every way LangGraph forks a thread: time travel
 * (`invoke` from an old checkpoint), `updateState` on an old checkpoint, `updateState(…, "__copy__")`, and replays
 * from a subgraph's snapshot (whatever `StateSnapshot.config` LangGraph hands out). The saver then accepts the run's
 * first put from that point although it is not the head, and the fork becomes the head (G7). Every later put of the
 * run is fenced as usual.
 *
 * Fork points: the checkpoint the config names and, for a subgraph snapshot, the checkpoints of its parent graphs
 * (`checkpoint_map`): replaying a subgraph re-runs the root graph from the root checkpoint that held it.
 *
 * @example
 * ```ts
 * const old = (await toArray(graph.getStateHistory(config)))[3];
 * await graph.invoke(null, forkConfig(old.config));                      // re-run from an old checkpoint
 * await graph.updateState(forkConfig(old.config), { count: 0 });        // edit an old checkpoint
 * await graph.updateState(forkConfig(old.config), null, "__copy__");    // copy it to the head
 * ```
 */
export function forkConfig<C extends RunnableConfig>(config: C): C {
  const checkpointId = config.configurable?.checkpoint_id;
  if (!isId(checkpointId)) {
    throw new InvalidInputError({
      issues: [{ path: ["configurable", "checkpoint_id"], message: "forkConfig needs the checkpoint_id to fork from" }],
    });
  }
  const map: unknown = config.configurable?.checkpoint_map;
  const parents = map !== null && typeof map === "object" ? Object.values(map).filter(isId) : [];
  const forkFrom = [...new Set([checkpointId, ...parents])];
  return { ...config, configurable: { ...config.configurable, [FENCED_CONFIG_KEYS.forkFrom]: forkFrom } };
}

/** A non-empty, well-formed string (no lone surrogates: it becomes part of a key). */
function isId(value: unknown): value is string {
  return typeof value === "string" && value !== "" && isWellFormed(value);
}

function invalid(key: string, wanted: string): InvalidInputError {
  return new InvalidInputError({ issues: [{ path: ["configurable", key], message: `must be ${wanted}` }] });
}
