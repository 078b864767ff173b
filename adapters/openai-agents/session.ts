/**
 * `FencedSession`: an `@openai/agents` `Session` whose history lives in one fenced-state key.
 *
 * Every write is one core commit: `addItems` is an `append` op (concurrent runs never lose or interleave items, and
 * never conflict with each other), `popItem` is a versioned `set` (two concurrent pops never return the same item:
 * G1), and every write presents the epoch its run holds on the session key (a reclaimed run is `FENCED`: G2).
 * A plain `MemorySession` or a read-modify-write store loses items in both races; test/adapters/openai-agents shows it.
 */
import { randomUUID } from "node:crypto";
import type { AgentInputItem, RunContext, RunContextAwareSession } from "@openai/agents";
import { InvalidInputError, newOpId, op, type CommitRequest, type Json, type StateStore } from "../../src/index.js";
import { retryConflicts } from "../../src/core/retry.js";
import { epochFor, fenceOf, withFencedRun, type FencedRun, type FencedRunOptions } from "./fence.js";

/** Where sessions live unless `key` or `prefix` says otherwise. */
export const DEFAULT_SESSION_PREFIX = "openai-agents/sessions/";

export interface FencedSessionOptions {
  store: StateStore;
  /** Default: a random UUID, like the SDK's `MemorySession`. */
  sessionId?: string;
  /** Key prefix; the history is stored at `prefix + sessionId`. Default `openai-agents/sessions/`. */
  prefix?: string;
  /** Recorded in the event log for writes made outside a fenced run. */
  owner?: string;
}

/**
 * A `Session` for `run(agent, input, { session })` backed by a `StateStore`.
 *
 * @example
 * ```ts
 * const session = new FencedSession({ store: await openStore(), sessionId: "support-42" });
 * await run(agent, "hello", { session });
 * // A newer message interrupts an older run on the same session; the older one is FENCED at its next write:
 * await session.withRun({ owner: "run-2", onBusy: "interrupt" }, ({ context, signal }) =>
 *   run(agent, "actually, cancel that", { session, context, signal }));
 * ```
 */
export class FencedSession implements RunContextAwareSession<unknown> {
  /** Tells the runner to pass the run context to every history call: that is how the run's epoch arrives here. */
  readonly acceptsRunContext = true as const;
  readonly store: StateStore;
  readonly sessionId: string;
  /** The fenced-state key holding this session's items (a JSON array). Claim it to fence runs. */
  readonly key: string;
  private readonly owner: string | undefined;

  constructor(options: FencedSessionOptions) {
    this.store = options.store;
    this.sessionId = options.sessionId ?? randomUUID();
    this.key = `${options.prefix ?? DEFAULT_SESSION_PREFIX}${this.sessionId}`;
    this.owner = options.owner;
  }

  async getSessionId(): Promise<string> {
    return this.sessionId;
  }

  /** The history in order; with `limit`, its last `limit` items. One read: a consistent snapshot. */
  async getItems(limit?: number): Promise<AgentInputItem[]> {
    const items = await this.readItems();
    if (limit === undefined) return items.items;
    return limit <= 0 ? [] : items.items.slice(-limit);
  }

  /** Appends atomically: concurrent runs' batches all land, each one contiguous. `FENCED` if the run was superseded. */
  async addItems(items: AgentInputItem[], runContext?: RunContext<unknown>): Promise<void> {
    if (items.length === 0) return;
    await this.store.commitRetryingUnavailable(this.request(op.append(...items.map(toJson)), runContext));
  }

  /** Removes and returns the last item; of two concurrent pops each gets a different item (versioned commit). */
  async popItem(runContext?: RunContext<unknown>): Promise<AgentInputItem | undefined> {
    return retryConflicts(async () => {
      const { items, version } = await this.readItems();
      const last = items.at(-1);
      if (last === undefined) return undefined;
      const rest = items.slice(0, -1) as unknown as Json[];
      await this.store.commitRetryingUnavailable({ ...this.request(op.set(rest), runContext), expectVersion: version });
      return last;
    });
  }

  /** Deletes the history (fenced like every write). */
  async clearSession(runContext?: RunContext<unknown>): Promise<void> {
    await this.store.commitRetryingUnavailable(this.request(op.delete(), runContext));
  }

  /**
   * Claims this session (plus `options.keys`) for one run; see `withFencedRun`. `onBusy: "interrupt"` fences the run
   * that held it, `"reject"` (default) throws `CLAIM_HELD`, `"enqueue"` waits for it.
   */
  withRun<T>(
    options: Omit<FencedRunOptions, "keys"> & { keys?: string[] },
    fn: (run: FencedRun) => Promise<T>,
  ): Promise<T> {
    return withFencedRun(this.store, { ...options, keys: [this.key, ...(options.keys ?? [])] }, fn);
  }

  private async readItems(): Promise<{ items: AgentInputItem[]; version: number }> {
    const record = await this.store.read(this.key);
    if (!record.exists) return { items: [], version: record.version };
    if (!Array.isArray(record.value)) {
      // Someone wrote this key outside the session; reading it as empty would hide (and later overwrite) their value.
      throw new InvalidInputError({
        issues: [{ path: [this.key], message: "session key does not hold an array of items" }],
      });
    }
    return { items: record.value as unknown as AgentInputItem[], version: record.version };
  }

  private request(
    o: CommitRequest["op"],
    runContext: RunContext<unknown> | undefined,
  ): CommitRequest & { opId: string } {
    const fence = fenceOf(runContext);
    const epoch = epochFor(fence, this.key);
    const owner = fence?.owner ?? this.owner;
    return {
      key: this.key,
      op: o,
      opId: newOpId(),
      ...(epoch !== undefined && { epoch }),
      ...(owner !== undefined && { owner }),
    };
  }
}

/**
 * An item as JSON. SDK items may carry `undefined` fields, which JSON means as "absent"; those are dropped. Anything
 * else that is not JSON (a `Uint8Array`, `NaN`) is left for the core to reject with `INVALID_INPUT`: nothing is
 * silently rewritten (G6).
 */
function toJson(value: unknown): Json {
  if (Array.isArray(value)) return value.map(toJson);
  if (typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
    const out: { [key: string]: Json } = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toJson(v);
    return out;
  }
  return value as Json;
}
