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
  /** An explicit fork: the checkpoint id the run may branch from although it is not the head (see `forkConfig`). */
  forkFrom: "fenced_fork_from",
  /** Identifies one attempt of `invokeWithRetry`, so it can tell whether the attempt landed any checkpoint. */
  attempt: "fenced_attempt",
} as const;

/** The fenced-state part of a config's `configurable`. */
export interface FencedConfig {
  epoch?: number;
  owner?: string;
  forkFrom?: string;
  attempt?: string;
}

/** Reads and checks the fenced-state keys of `configurable`; a malformed one is `INVALID_INPUT`. */
export function readFencedConfig(configurable: Record<string, unknown> | undefined): FencedConfig {
  const out: FencedConfig = {};
  if (!configurable) return out;
  const epoch = configurable[FENCED_CONFIG_KEYS.epoch];
  if (epoch !== undefined) {
    if (!Number.isSafeInteger(epoch) || (epoch as number) < 0) throw invalid(FENCED_CONFIG_KEYS.epoch, "a non-negative integer");
    out.epoch = epoch as number;
  }
  for (const field of ["owner", "forkFrom", "attempt"] as const) {
    const value = configurable[FENCED_CONFIG_KEYS[field]];
    if (value === undefined) continue;
    if (typeof value !== "string" || value === "" || !isWellFormed(value)) {
      throw invalid(FENCED_CONFIG_KEYS[field], "a non-empty, well-formed string");
    }
    out[field] = value;
  }
  return out;
}

/**
 * Marks a config as an explicit fork from the checkpoint it names, for time travel and for `updateState` on an old
 * checkpoint. The saver then accepts one put whose parent is that checkpoint although it is not the head, and the
 * fork becomes the head (G7). Every later put of the run is fenced as usual.
 *
 * @example
 * ```ts
 * const old = (await toArray(graph.getStateHistory(config)))[3];
 * await graph.invoke(null, forkConfig(old.config));          // re-run from an old checkpoint
 * await graph.updateState(forkConfig(old.config), { count: 0 });
 * ```
 */
export function forkConfig<C extends RunnableConfig>(config: C): C {
  const checkpointId = config.configurable?.checkpoint_id;
  if (typeof checkpointId !== "string" || checkpointId === "") {
    throw new InvalidInputError({
      issues: [{ path: ["configurable", "checkpoint_id"], message: "forkConfig needs the checkpoint_id to fork from" }],
    });
  }
  return { ...config, configurable: { ...config.configurable, [FENCED_CONFIG_KEYS.forkFrom]: checkpointId } };
}

function invalid(key: string, wanted: string): InvalidInputError {
  return new InvalidInputError({ issues: [{ path: ["configurable", key], message: `must be ${wanted}` }] });
}
