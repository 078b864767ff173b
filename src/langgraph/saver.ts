/**
 * `FencedCheckpointSaver`: a LangGraph checkpointer on which concurrent runs, other processes and zombie runs cannot
 * lose updates (SPEC §6, G7). The head of each (thread_id, checkpoint_ns) is a core record; every put is a core
 * commit of that head with `expectVersion`, and the checkpoint rows land in the same transaction (`commitWithRows`).
 * The saver decides nothing itself: a run's fence is a guard on the thread's claim key, judged by the core commit.
 */
import type { RunnableConfig } from "@langchain/core/runnables";
import {
  BaseCheckpointSaver,
  getCheckpointId,
  type ChannelVersions,
  type Checkpoint,
  type CheckpointListOptions,
  type CheckpointMetadata,
  type CheckpointTuple,
  type PendingWrite,
  type SerializerProtocol,
} from "@langchain/langgraph-checkpoint";
import type { BlobRef, CheckpointReader, CheckpointRow, LoadedCheckpoint } from "../core/backend.js";
import { InvalidInputError, VersionConflictError, isErrorCode } from "../core/errors.js";
import type { Json } from "../core/json.js";
import { op } from "../core/ops.js";
import type { CommitRequest, Guard, StateRecord } from "../core/schemas.js";
import { commitWithRows, type StateStore } from "../core/store.js";
import { openStore, type OpenStoreOptions } from "../open.js";
import { z } from "zod";
import { parseInput } from "../core/validate.js";
import { readFencedConfig } from "./config.js";
import { ThreadKeys, threadIdOf } from "./keys.js";
import { checkpointConfig, serializePut, serializeWrites, toTuple, withOwnRefs } from "./rows.js";

export interface FencedCheckpointSaverOptions {
  /** First segment of every key the saver writes. Default `"langgraph"`. */
  keyPrefix?: string;
  /**
   * A put without a parent onto a thread that already has a head: `"conflict"` (default, G7: two "first" runs cannot
   * both start a thread) or `"fork"` (compatibility: the put becomes the new head, as in the official savers; for
   * tools that write checkpoints directly, such as the official validation suite).
   */
  parentlessPut?: "conflict" | "fork";
  /** LangGraph serializer; default `JsonPlusSerializer`. */
  serde?: SerializerProtocol;
}

/** What a head record holds. */
interface Head {
  checkpointId: string;
  parentCheckpointId: string | null;
}

/** What a put needs to know about its parent; both facts are immutable once the parent is stored. */
interface ParentFacts {
  headVersion: number;
  blobRefs: Record<string, BlobRef>;
}

/** Parent facts never go stale, so the cache only ever forgets (all at once, when full). */
const PARENT_CACHE_SIZE = 10_000;
const LIST_PAGE = 100;

/**
 * A drop-in LangGraph checkpointer (`graph.compile({ checkpointer })`) that fences every write:
 * - a put is accepted only as a child of the thread's head (or an explicit fork, `forkConfig`), else
 *   `VersionConflictError`; the head never goes back (G7);
 * - a run holding the thread's claim (`withThreadClaim`) presents its epoch; a superseded run is `FencedError` at its
 *   next put or putWrites (G2);
 * - errors reach the `graph.invoke()` caller unchanged, so `instanceof` works there.
 *
 * @example
 * ```ts
 * import { FencedCheckpointSaver } from "fenced-state/langgraph";
 * const checkpointer = await FencedCheckpointSaver.open();   // SQLite at ./.fenced/state.db
 * const graph = builder.compile({ checkpointer });
 * ```
 */
export class FencedCheckpointSaver extends BaseCheckpointSaver {
  readonly store: StateStore;
  readonly keyPrefix: string;
  readonly parentlessPut: "conflict" | "fork";
  private readonly checkpoints: CheckpointReader;
  private readonly parents = new Map<string, ParentFacts>();
  /** Checkpoint ids landed per tracked attempt (`invokeWithRetry`). */
  private readonly attempts = new Map<string, string[]>();

  constructor(store: StateStore, options: FencedCheckpointSaverOptions = {}) {
    super(options.serde);
    const checkpoints = store.backend.checkpoints;
    if (!checkpoints) {
      throw new InvalidInputError({ issues: [{ path: ["store"], message: `the ${store.backend.kind} backend keeps no checkpoints` }] });
    }
    this.store = store;
    this.checkpoints = checkpoints;
    this.keyPrefix = options.keyPrefix ?? "langgraph";
    this.parentlessPut = options.parentlessPut ?? "conflict";
  }

  /** Opens a store (`openStore` options: SQLite `./.fenced/state.db` by default) and a saver on it. */
  static async open(options: OpenStoreOptions & FencedCheckpointSaverOptions = {}): Promise<FencedCheckpointSaver> {
    const { keyPrefix, parentlessPut, serde, ...storeOptions } = options;
    const saver: FencedCheckpointSaverOptions = {};
    if (keyPrefix !== undefined) saver.keyPrefix = keyPrefix;
    if (parentlessPut !== undefined) saver.parentlessPut = parentlessPut;
    if (serde !== undefined) saver.serde = serde;
    return new FencedCheckpointSaver(await openStore(storeOptions), saver);
  }

  /** The checkpoint `config` names, or the thread's head when it names none; `undefined` when there is none. */
  async getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    const c = configurableOf(config);
    if (c?.thread_id === undefined) return undefined;
    const threadId = threadIdOf(c.thread_id, "getTuple");
    const ns = nsOf(c.checkpoint_ns);
    const checkpointId: unknown = getCheckpointId(config);
    if (checkpointId !== undefined && typeof checkpointId !== "string") {
      throw new InvalidInputError({ issues: [{ path: ["configurable", "checkpoint_id"], message: "must be a string" }] });
    }
    const loaded = checkpointId
      ? await this.checkpoints.getCheckpoint({ threadId, ns, checkpointId })
      : await this.checkpoints.getHeadCheckpoint({ threadId, ns, headKey: new ThreadKeys(this.keyPrefix, threadId).head(ns) });
    return loaded && this.tuple(loaded);
  }

  /** Checkpoints newest first (by id), filtered by thread, namespace, `before`, metadata `filter`, up to `limit`. */
  async *list(config: RunnableConfig, options: CheckpointListOptions = {}): AsyncGenerator<CheckpointTuple> {
    const c = configurableOf(config) ?? {};
    const filter: Record<string, Json> = {};
    for (const [k, v] of Object.entries(options.filter ?? {})) if (v !== undefined) filter[k] = v as Json;
    const base = {
      ...(c.thread_id !== undefined && c.thread_id !== null && { threadId: threadIdOf(c.thread_id, "list") }),
      ...(typeof c.checkpoint_ns === "string" && { ns: c.checkpoint_ns }),
      ...(options.before?.configurable?.checkpoint_id !== undefined && { beforeId: String(options.before.configurable.checkpoint_id) }),
      ...(Object.keys(filter).length > 0 && { metadata: filter }),
    };
    const only = getCheckpointId(config);
    let remaining = options.limit ?? Number.POSITIVE_INFINITY;
    let after: LoadedCheckpoint | undefined;
    while (remaining > 0) {
      const page = await this.checkpoints.listCheckpoints({
        ...base,
        ...(after && { after: { threadId: after.threadId, ns: after.ns, checkpointId: after.checkpointId } }),
        limit: Math.min(remaining, LIST_PAGE),
      });
      for (const loaded of page) {
        if (only && loaded.checkpointId !== only) continue;
        remaining--;
        yield await this.tuple(loaded);
      }
      if (page.length < LIST_PAGE) return;
      after = page[page.length - 1];
    }
  }

  /**
   * Stores a checkpoint as the new head of its (thread, namespace). `config.configurable.checkpoint_id` is the parent
   * the run started from: it must be the head (or the explicit fork point), else `VersionConflictError`.
   */
  async put(config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata, newVersions: ChannelVersions): Promise<RunnableConfig> {
    const c = configurableOf(config);
    parseInput(PutInputSchema, { checkpoint, metadata, newVersions });
    const threadId = threadIdOf(c?.thread_id, "put");
    const ns = nsOf(c?.checkpoint_ns);
    const parentId = typeof c?.checkpoint_id === "string" && c.checkpoint_id !== "" ? c.checkpoint_id : null;
    const fenced = readFencedConfig(c);
    const keys = new ThreadKeys(this.keyPrefix, threadId);
    const parent = parentId === null ? undefined : await this.parentFacts(threadId, ns, parentId);
    if (parentId !== null && parent === undefined) {
      // The parent is not in this lineage (never was, or the thread was deleted under the run).
      throw lineageConflict(threadId, ns, parentId, await this.store.read(keys.head(ns)), null);
    }
    const serialized = await serializePut(this.serde, { threadId, ns, parentId }, checkpoint, metadata, newVersions, parent?.blobRefs);

    const head: Head = { checkpointId: checkpoint.id, parentCheckpointId: parentId };
    const request: CommitRequest = {
      key: keys.head(ns),
      op: op.set({ ...head }),
      expectVersion: await this.expectedHeadVersion(keys, ns, parentId, parent, fenced.forkFrom),
    };
    // The root head carries the run claim, so the commit itself checks the epoch there; a put in another namespace
    // is guarded by the same claim.
    if (ns === "" && fenced.epoch !== undefined) request.epoch = fenced.epoch;
    if (fenced.owner !== undefined) request.owner = fenced.owner;
    const guards = ns === "" ? [] : [runFence(keys, fenced.epoch)];
    let row: CheckpointRow | undefined;
    try {
      const { results } = await commitWithRows(this.store, { requests: [request], guards }, async (tx, [committed]) => {
        row = withOwnRefs(serialized, committed!.version);
        if (!(await tx.checkpoints!.insertCheckpoint(row, serialized.blobs))) {
          throw new InvalidInputError({ issues: [{ path: ["checkpoint", "id"], message: `checkpoint ${checkpoint.id} already exists` }] });
        }
      });
      const result = results[0]!;
      this.remember(threadId, ns, checkpoint.id, { headVersion: result.version, blobRefs: row!.blobRefs });
      // Only the root lineage carries the run's input; a subgraph's checkpoints do not make an attempt partial.
      if (fenced.attempt !== undefined && ns === "") this.attempts.get(fenced.attempt)?.push(checkpoint.id);
    } catch (err) {
      if (!isErrorCode(err, "VERSION_CONFLICT")) throw err;
      const current = await this.store.read(keys.head(ns));
      const head = headOf(current);
      // The same put already landed (a retry after an unknown outcome): nothing to do.
      if (head?.checkpointId === checkpoint.id && head.parentCheckpointId === parentId) return checkpointConfig(threadId, ns, checkpoint.id);
      throw lineageConflict(keys.threadId, ns, parentId, current, err.details.expectedVersion);
    }
    return checkpointConfig(threadId, ns, checkpoint.id);
  }

  /**
   * Stores a task's pending writes for a checkpoint: first wins per (task, idx) for regular writes, special writes
   * (error, interrupt, resume…) replace, `taskPath` is kept. Fenced like `put` (a superseded run gets `FencedError`).
   */
  async putWrites(config: RunnableConfig, writes: PendingWrite[], taskId: string, taskPath = ""): Promise<void> {
    const c = configurableOf(config);
    parseInput(PutWritesInputSchema, { writes, taskId, taskPath });
    const threadId = threadIdOf(c?.thread_id, "putWrites");
    const checkpointId = c?.checkpoint_id;
    if (typeof checkpointId !== "string" || checkpointId === "") {
      throw new InvalidInputError({ issues: [{ path: ["configurable", "checkpoint_id"], message: "putWrites needs configurable.checkpoint_id" }] });
    }
    if (writes.length === 0) return;
    const ref = { threadId, ns: nsOf(c?.checkpoint_ns), checkpointId };
    const fenced = readFencedConfig(c);
    const keys = new ThreadKeys(this.keyPrefix, threadId);
    const rows = await serializeWrites(this.serde, writes, taskId, taskPath);
    // Writes attach to a checkpoint that may not have landed yet (LangGraph chains puts but not writes), so they are
    // fenced by the run claim only: a guard, with no key written; a stale run's writes hang off a checkpoint no head
    // descends from.
    await commitWithRows(this.store, { requests: [], guards: [runFence(keys, fenced.epoch)] }, (tx) =>
      tx.checkpoints!.putWrites(ref, rows),
    );
  }

  /** Deletes every checkpoint and write of a thread and its heads. `FencedError` while a run holds the thread. */
  async deleteThread(threadId: string): Promise<void> {
    const keys = new ThreadKeys(this.keyPrefix, threadIdOf(threadId, "deleteThread"));
    const others: string[] = [];
    for (let after: string | undefined; ; ) {
      const page = await this.store.list({ prefix: keys.prefix, limit: 1000, ...(after !== undefined && { after }) });
      for (const r of page) if (r.key !== keys.claimKey) others.push(r.key);
      if (page.length < 1000) break;
      after = page[page.length - 1]!.key;
    }
    // The claim key goes first and carries the row deletion, so a held thread rejects the whole delete (G2).
    const chunk = this.store.limits.maxTxnSize;
    const first = [keys.claimKey, ...others.splice(0, chunk - 1)];
    await commitWithRows(this.store, { requests: first.map((key) => ({ key, op: op.delete() })) }, (tx) =>
      tx.checkpoints!.deleteThread(keys.threadId),
    );
    while (others.length > 0) await this.store.txn(others.splice(0, chunk).map((key) => ({ key, op: op.delete() })));
  }

  /** @internal Starts recording which checkpoints an `invokeWithRetry` attempt lands. */
  trackAttempt(attempt: string): void {
    this.attempts.set(attempt, []);
  }

  /** @internal Stops recording an attempt and returns the checkpoint ids it landed. */
  untrackAttempt(attempt: string): string[] {
    const landed = this.attempts.get(attempt) ?? [];
    this.attempts.delete(attempt);
    return landed;
  }

  /** The version the head must still have for this put to be accepted. */
  private async expectedHeadVersion(
    keys: ThreadKeys,
    ns: string,
    parentId: string | null,
    parent: ParentFacts | undefined,
    forkFrom: string | undefined,
  ): Promise<number> {
    if (parent !== undefined && parentId !== forkFrom) return parent.headVersion;
    // An explicit fork, or the first put of a thread: measured against the head as it is now.
    const head = await this.store.read(keys.head(ns));
    if (!head.exists || parentId !== null || this.parentlessPut === "fork") return head.version;
    return 0; // a parentless put expects an empty thread, so it conflicts with the head there is (G7)
  }

  /** A stored checkpoint's head version and blob refs, from the cache or its row; `undefined` if it is not stored. */
  private async parentFacts(threadId: string, ns: string, checkpointId: string): Promise<ParentFacts | undefined> {
    const cached = this.parents.get(cacheKey(threadId, ns, checkpointId));
    if (cached !== undefined) return cached;
    const loaded = await this.checkpoints.getCheckpoint({ threadId, ns, checkpointId });
    if (!loaded) return undefined;
    const facts = { headVersion: loaded.headVersion, blobRefs: loaded.blobRefs };
    this.remember(threadId, ns, checkpointId, facts);
    return facts;
  }

  private remember(threadId: string, ns: string, checkpointId: string, facts: ParentFacts): void {
    if (this.parents.size >= PARENT_CACHE_SIZE) this.parents.clear();
    this.parents.set(cacheKey(threadId, ns, checkpointId), facts);
  }

  private async tuple(loaded: LoadedCheckpoint): Promise<CheckpointTuple> {
    this.remember(loaded.threadId, loaded.ns, loaded.checkpointId, { headVersion: loaded.headVersion, blobRefs: loaded.blobRefs });
    return toTuple(this.serde, loaded, async () => {
      const parent = await this.checkpoints.getCheckpoint({ threadId: loaded.threadId, ns: loaded.ns, checkpointId: loaded.parentId! });
      return parent?.writes ?? [];
    });
  }
}

/**
 * The guard that fences a write outside the root head by the thread's run claim: the run's epoch must still be the
 * live claim's, and a write without one is refused while any run holds the thread (G2: no bypass).
 */
function runFence(keys: ThreadKeys, epoch: number | undefined): Guard {
  return { key: keys.claimKey, epoch: epoch ?? null };
}

function nsOf(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (typeof value !== "string") {
    throw new InvalidInputError({ issues: [{ path: ["configurable", "checkpoint_ns"], message: "must be a string" }] });
  }
  return value;
}

function cacheKey(threadId: string, ns: string, checkpointId: string): string {
  return `${threadId}\u0000${ns}\u0000${checkpointId}`;
}

function headOf(record: StateRecord): Head | undefined {
  return record.exists ? (record.value as unknown as Head) : undefined;
}

/** The typed G7 error: which thread, which parent the put started from, which checkpoint is the head now. */
function lineageConflict(
  threadId: string,
  ns: string,
  parentId: string | null,
  headRecord: StateRecord,
  expectedVersion: number | null,
): VersionConflictError {
  const head = headOf(headRecord);
  const where = ns === "" ? `thread "${threadId}"` : `thread "${threadId}" namespace "${ns}"`;
  const message =
    `${where} moved on: this run started from ${parentId ?? "no checkpoint"} but the head is ${head?.checkpointId ?? "gone"}. ` +
    "Another run advanced the thread; re-run from the head (invokeWithRetry) or fork explicitly (forkConfig).";
  return new VersionConflictError(
    {
      key: headRecord.key,
      expectedVersion,
      actualVersion: headRecord.version,
      threadId,
      checkpointNs: ns,
      parentCheckpointId: parentId,
      headCheckpointId: head?.checkpointId ?? null,
    },
    message,
  );
}

/** `config.configurable`, or `INVALID_INPUT` when `config` is not an object at all (G6: garbage is a typed error). */
function configurableOf(config: RunnableConfig): RunnableConfig["configurable"] {
  if (config === null || typeof config !== "object") {
    throw new InvalidInputError({ issues: [{ path: ["config"], message: "config must be an object" }] });
  }
  return config.configurable;
}

const ObjectSchema = z.record(z.string(), z.unknown());
/** The shapes `put` relies on; LangGraph always sends them, garbage gets `INVALID_INPUT` before anything is written. */
const PutInputSchema = z.object({
  checkpoint: z.looseObject({
    id: z.string().min(1),
    ts: z.string().optional(),
    channel_values: ObjectSchema,
    channel_versions: z.record(z.string(), z.union([z.string(), z.number()])),
    versions_seen: z.record(z.string(), ObjectSchema).optional(),
  }),
  metadata: ObjectSchema.optional(),
  newVersions: z.record(z.string(), z.union([z.string(), z.number()])),
});
const PutWritesInputSchema = z.object({
  writes: z.array(z.tuple([z.string(), z.unknown()])),
  taskId: z.string().min(1),
  taskPath: z.string(),
});
