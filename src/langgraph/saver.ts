/**
 * `FencedCheckpointSaver`: a LangGraph checkpointer on which concurrent runs, other processes and zombie runs cannot
 * lose updates (docs/design.md §6, G7). The head of each (thread_id, checkpoint_ns) is a core record; every put is a core
 * commit of that head with `expectVersion`, and the checkpoint rows land in the same transaction (`commitWithRows`).
 * The saver decides nothing itself: a run's fence is a guard on the thread's claim key, judged by the core commit.
 */
import { LRUCache } from "lru-cache";
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
import {
  CheckpointExistsError,
  type CheckpointReader,
  type CheckpointRow,
  type HeadRecord,
  type LoadedCheckpoint,
} from "../core/checkpoints.js";
import { InvalidInputError, VersionConflictError, isErrorCode } from "../core/errors.js";
import { isPending, type Awaitable } from "../core/backend.js";
import type { Json } from "../core/json.js";
import { op } from "../core/ops.js";
import { isWellFormed, type CommitRequest, type Guard, type StateRecord } from "../core/schemas.js";
import { commitWithRows, type StateStore } from "../core/store.js";
import {
  connStringOptions,
  openStore,
  openStoreLazily,
  type ConnStringStoreOptions,
  type OpenStoreOptions,
} from "../open.js";
import { checkPutInput, checkPutWritesInput } from "./put-input.js";
import { FENCED_CONFIG_KEYS, readFencedConfig } from "./config.js";
import { EncryptedSerializer } from "./encrypted.js";
import { ThreadKeys, threadIdOf } from "./keys.js";
import {
  checkIds,
  checkStrategy,
  checkTtl,
  checkpointsOfRuns,
  copyThread,
  dropThread,
  notHead,
  removeCheckpoints,
  runIdOf,
  type LifecycleContext,
  type LifecycleCounts,
  type PruneStrategy,
  type ThreadTtl,
} from "./lifecycle.js";
import { sweepThreads, type SweepCounts } from "./retention.js";
import { threadStatus, type ThreadStatus } from "./status.js";
import {
  checkpointConfig,
  metadataMatches,
  samePut,
  serializePut,
  serializeWrites,
  storedChannelVersions,
  toTuple,
  withOwnRefs,
  type PutParent,
  type SerializedPut,
} from "./rows.js";

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
  /**
   * Thread retention: `sweep()` prunes threads idle for `idleMs` by `strategy` (and in the background every
   * `sweepEveryMs`, if given). docs/lifecycle.md.
   */
  ttl?: ThreadTtl;
}

/** What a put needs to know about its parent; every fact is immutable once the parent is stored. */
interface ParentFacts extends PutParent {
  headVersion: number;
  parentId: string | null;
}

/** Parent facts never go stale, so the caches only ever forget (least recently used first). Same for old reads. */
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
 * const checkpointer = FencedCheckpointSaver.fromConnString("./.fenced/state.db"); // or "postgres://…", ":memory:"
 * const graph = builder.compile({ checkpointer });
 * // …
 * await checkpointer.close();
 * ```
 */
export class FencedCheckpointSaver extends BaseCheckpointSaver {
  readonly store: StateStore;
  readonly keyPrefix: string;
  readonly parentlessPut: "conflict" | "fork";
  private readonly checkpoints: CheckpointReader;
  private readonly parents = new LRUCache<string, ParentFacts>({ max: PARENT_CACHE_SIZE });
  /**
   * Checkpoints this saver served by id while it knew they were not their lineage's head (and their parents), by cache
   * key: a put from one of them that conflicts is time travel without `forkConfig`, not another run's advance.
   */
  private readonly oldReads = new LRUCache<string, true>({ max: PARENT_CACHE_SIZE });
  /** The greatest head version this saver has seen per lineage (head versions only grow, even across deletes). */
  private readonly headVersions = new LRUCache<string, number>({ max: PARENT_CACHE_SIZE });
  /** Root checkpoint ids landed per tracked attempt (`invokeWithRetry`). */
  private readonly attempts = new Map<string, string[]>();
  /** Root checkpoint ids landed per run of a plain `invoke`, by its LangGraph `control` object and thread. */
  private readonly runs = new WeakMap<object, Map<string, string[]>>();
  /** Whether `store` was opened by this saver (`open`, `fromConnString`), so `close()` closes it. */
  private ownsStore = false;
  private closing: Promise<void> | undefined;
  /** The thread TTL (`sweep()`), if any. */
  readonly ttl: ThreadTtl | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  /** @internal What the lifecycle operations (lifecycle.ts) need of this saver. */
  readonly lifecycle: LifecycleContext;

  constructor(store: StateStore, options: FencedCheckpointSaverOptions = {}) {
    super(options.serde);
    const checkpoints = store.backend.checkpoints;
    if (!checkpoints) {
      throw new InvalidInputError({
        issues: [{ path: ["store"], message: `the ${store.backend.kind} backend keeps no checkpoints` }],
      });
    }
    this.store = store;
    this.checkpoints = checkpoints;
    this.keyPrefix = options.keyPrefix ?? "langgraph";
    this.parentlessPut = options.parentlessPut ?? "conflict";
    this.ttl = options.ttl === undefined ? undefined : checkTtl(options.ttl);
    this.lifecycle = {
      store,
      keyPrefix: this.keyPrefix,
      checkpoints,
      forget: (threadId, ns, checkpointId) => {
        this.parents.delete(cacheKey(threadId, ns, checkpointId));
        this.oldReads.delete(cacheKey(threadId, ns, checkpointId));
      },
    };
    if (this.ttl?.sweepEveryMs !== undefined) {
      this.sweeper = setInterval(() => {
        this.sweep().catch((err: unknown) => process.emitWarning(`fenced-state: thread sweep failed: ${String(err)}`));
      }, this.ttl.sweepEveryMs);
      this.sweeper.unref();
    }
  }

  /** Opens a store (`openStore` options: SQLite `./.fenced/state.db` by default) and a saver on it. */
  static async open(options: OpenStoreOptions & FencedCheckpointSaverOptions = {}): Promise<FencedCheckpointSaver> {
    const [saver, store] = splitOptions(options);
    return new FencedCheckpointSaver(await openStore(store), saver).owning();
  }

  /**
   * A saver on the store a connection string names, as LangGraph's savers take one (`SqliteSaver.fromConnString`):
   * a SQLite file path, `":memory:"`, or a `postgres://` URL (needs `pg`). Synchronous: the store opens on first use,
   * and an open that fails (a database that is down) fails that call and is tried again by the next one. Close it
   * with `close()`.
   *
   * @example
   * ```ts
   * const checkpointer = FencedCheckpointSaver.fromConnString(process.env.DATABASE_URL ?? "./.fenced/state.db");
   * const graph = builder.compile({ checkpointer });
   * ```
   */
  static fromConnString(
    pathOrUrl: string,
    options: FencedCheckpointSaverOptions & ConnStringStoreOptions = {},
  ): FencedCheckpointSaver {
    const [saver, store] = splitOptions({ ...options, ...connStringOptions(pathOrUrl) });
    return new FencedCheckpointSaver(openStoreLazily(store), saver).owning();
  }

  /**
   * Closes the store this saver opened (`open`, `fromConnString`), after what was issued before; idempotent. A store
   * passed to the constructor belongs to the caller, who closes it (`store.close()`).
   */
  close(): Promise<void> {
    clearInterval(this.sweeper);
    if (!this.ownsStore) return Promise.resolve();
    this.closing ??= this.store.close();
    return this.closing;
  }

  private owning(): this {
    this.ownsStore = true;
    return this;
  }

  /**
   * The checkpoint `config` names, or the thread's head when it names none; `undefined` when there is none. A config
   * marked by `forkConfig` comes back marked in the tuple's `config` and `parentConfig`: LangGraph builds its puts
   * from those (a `"__copy__"` puts under `parentConfig`), so the fork reaches the put.
   */
  async getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    const c = configurableOf(config);
    if (c?.thread_id === undefined) return undefined;
    const threadId = threadIdOf(c.thread_id, "getTuple");
    const ns = nsOf(c.checkpoint_ns);
    const checkpointId: unknown = getCheckpointId(config);
    if (checkpointId !== undefined && typeof checkpointId !== "string") {
      throw new InvalidInputError({
        issues: [{ path: ["configurable", "checkpoint_id"], message: "must be a string" }],
      });
    }
    const { forkFrom } = readFencedConfig(c);
    let loaded: LoadedCheckpoint | undefined;
    if (checkpointId) {
      loaded = await this.checkpoints.getCheckpoint({ threadId, ns, checkpointId });
      // Known to be superseded already (this saver has seen a later head): a run from it is time travel. Its parent
      // never is the head, and a "__copy__" of it puts under that parent.
      if (loaded && (this.headVersions.get(lineageKey(threadId, ns)) ?? 0) > loaded.headVersion) {
        this.rememberOldRead(threadId, ns, loaded.checkpointId);
      }
      if (loaded) this.rememberOldRead(threadId, ns, loaded.parentId);
    } else {
      loaded = await this.checkpoints.getHeadCheckpoint({
        threadId,
        ns,
        headKey: new ThreadKeys(this.keyPrefix, threadId).head(ns),
      });
    }
    if (!loaded) return undefined;
    const tuple = await this.tuple(loaded);
    if (forkFrom === undefined) return tuple;
    const mark = (cfg: RunnableConfig | undefined) =>
      cfg && { configurable: { ...cfg.configurable, [FENCED_CONFIG_KEYS.forkFrom]: [...forkFrom] } };
    return {
      ...tuple,
      config: mark(tuple.config)!,
      ...(tuple.parentConfig && { parentConfig: mark(tuple.parentConfig) }),
    };
  }

  /** Checkpoints newest first (by id), filtered by thread, namespace, `before`, metadata `filter`, up to `limit`. */
  async *list(config: RunnableConfig, options: CheckpointListOptions = {}): AsyncGenerator<CheckpointTuple> {
    const c = configurableOf(config) ?? {};
    const filter: Record<string, Json> = {};
    for (const [k, v] of Object.entries(options.filter ?? {})) if (v !== undefined) filter[k] = v as Json;
    // Encrypted metadata cannot be matched by the database: it is matched here, once decrypted.
    const filterHere = this.serde instanceof EncryptedSerializer && Object.keys(filter).length > 0;
    const base = {
      ...(c.thread_id !== undefined && c.thread_id !== null && { threadId: threadIdOf(c.thread_id, "list") }),
      ...(typeof c.checkpoint_ns === "string" && { ns: c.checkpoint_ns }),
      ...(options.before?.configurable?.checkpoint_id !== undefined && {
        beforeId: String(options.before.configurable.checkpoint_id),
      }),
      ...(Object.keys(filter).length > 0 && !filterHere && { metadata: filter }),
    };
    const only = getCheckpointId(config);
    let remaining = options.limit ?? Number.POSITIVE_INFINITY;
    let after: LoadedCheckpoint | undefined;
    while (remaining > 0) {
      const page = await this.checkpoints.listCheckpoints({
        ...base,
        ...(after && { after: { threadId: after.threadId, ns: after.ns, checkpointId: after.checkpointId } }),
        limit: filterHere ? LIST_PAGE : Math.min(remaining, LIST_PAGE),
      });
      for (const loaded of page) {
        if (only && loaded.checkpointId !== only) continue;
        const tuple = await this.tuple(loaded);
        if (filterHere && !metadataMatches(tuple.metadata, filter)) continue;
        if (remaining-- <= 0) return;
        yield tuple;
      }
      if (page.length < LIST_PAGE) return;
      after = page[page.length - 1];
    }
  }

  /**
   * Stores a checkpoint as the new head of its (thread, namespace). `config.configurable.checkpoint_id` is the parent
   * the run started from: it must be the head (or an explicit fork point, `forkConfig`), else `VersionConflictError`.
   * A re-put of a stored checkpoint is a no-op when it carries the same checkpoint, else `INVALID_INPUT`.
   */
  async put(
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    newVersions: ChannelVersions,
  ): Promise<RunnableConfig> {
    const c = configurableOf(config);
    checkPutInput({ checkpoint, metadata, newVersions });
    // A run's checkpoints carry its run id, as in Python (deleteForRuns, rollback find them by it).
    if (typeof c?.run_id === "string" && (metadata as Record<string, unknown> | undefined)?.run_id === undefined) {
      metadata = { ...metadata, run_id: c.run_id } as CheckpointMetadata;
    }
    const threadId = threadIdOf(c?.thread_id, "put");
    const ns = nsOf(c?.checkpoint_ns);
    const parentId = typeof c?.checkpoint_id === "string" && c.checkpoint_id !== "" ? c.checkpoint_id : null;
    const fenced = readFencedConfig(c);
    const keys = new ThreadKeys(this.keyPrefix, threadId);
    const facts = parentId === null ? undefined : this.parentFacts(threadId, ns, parentId);
    const parent = isPending(facts) ? await facts : facts;
    if (parentId !== null && parent === undefined) {
      // The parent is not in this lineage (never was, or the thread was deleted under the run).
      throw lineageConflict(
        threadId,
        ns,
        parentId,
        await this.store.read(keys.head(ns)),
        null,
        false,
        this.landedBy(config, threadId, fenced.attempt),
      );
    }
    const fork = fenced.forkFrom !== undefined && (await this.isExplicitFork(threadId, ns, parentId, fenced.forkFrom));
    // A fork builds on a checkpoint that is not the head: the put pins the thread's history, so a prune or
    // deleteForRuns that deletes that checkpoint after the check below makes it conflict, never refer to gone values.
    let history: Guard | undefined;
    if (fork && parentId !== null) {
      const record = await this.store.read(keys.history);
      if (!(await this.checkpoints.getCheckpoint({ threadId, ns, checkpointId: parentId }))) {
        throw lineageConflict(
          threadId,
          ns,
          parentId,
          await this.store.read(keys.head(ns)),
          null,
          true,
          this.landedBy(config, threadId, fenced.attempt),
        );
      }
      history = { key: keys.history, version: record.version };
    }
    const copy = metadata?.source === "fork";
    const serializing = serializePut(
      this.serde,
      { threadId, ns, parentId },
      checkpoint,
      metadata,
      newVersions,
      parent,
      copy,
    );
    const serialized = isPending(serializing) ? await serializing : serializing;

    const head: HeadRecord = { checkpointId: checkpoint.id, parentCheckpointId: parentId };
    const request: CommitRequest = {
      key: keys.head(ns),
      op: op.set({ ...head }),
      expectVersion: fork || parent === undefined ? await this.currentHeadVersion(keys, ns, fork) : parent.headVersion,
    };
    // The root head carries the run claim, so the commit itself checks the epoch there; a put in another namespace
    // is guarded by the same claim.
    if (ns === "" && fenced.epoch !== undefined) request.epoch = fenced.epoch;
    if (fenced.owner !== undefined) request.owner = fenced.owner;
    const guards: Guard[] = [];
    if (ns !== "") guards.push(runFence(keys, fenced.epoch));
    if (history) guards.push(history);
    let row: CheckpointRow | undefined;
    try {
      const { results } = await commitWithRows(this.store, { requests: [request], guards }, (tx, [committed]) => {
        const landing = withOwnRefs(serialized, committed!.version);
        row = landing;
        // `existing: "fail"`: Postgres sends the row with the COMMIT and fails it there; a backend that answers at once
        // says `false`, and the throw rolls the head back the same way. Either is decided below, outside the transaction.
        const inserted = tx.checkpoints!.insertCheckpoint(landing, serialized.blobs, { existing: "fail" });
        return isPending(inserted)
          ? inserted.then((ok) => insertedOrExists(ok, landing))
          : insertedOrExists(inserted, landing);
      });
      const result = results[0]!;
      this.remember(threadId, ns, checkpoint.id, {
        headVersion: result.version,
        blobRefs: row!.blobRefs,
        channelVersions: { ...checkpoint.channel_versions },
        parentId,
      });
      // Only the root lineage carries the run's input; a subgraph's checkpoints do not make a run partial.
      if (ns === "") this.landedBy(config, threadId, fenced.attempt)?.push(checkpoint.id);
    } catch (err) {
      if (err instanceof CheckpointExistsError) return this.rePut(threadId, ns, checkpoint, serialized, err);
      if (!isErrorCode(err, "VERSION_CONFLICT")) throw err;
      // The same checkpoint already landed (a retry after an unknown outcome, or a re-put): nothing to do.
      if (await this.checkpoints.getCheckpoint({ threadId, ns, checkpointId: checkpoint.id })) {
        const same = await this.rePut(threadId, ns, checkpoint, serialized, err);
        const landed = ns === "" ? this.landedBy(config, threadId, fenced.attempt) : undefined;
        if (landed && !landed.includes(checkpoint.id)) landed.push(checkpoint.id);
        return same;
      }
      const old = this.oldReads.has(cacheKey(threadId, ns, parentId ?? ""));
      throw lineageConflict(
        keys.threadId,
        ns,
        parentId,
        await this.store.read(keys.head(ns)),
        err.details.expectedVersion,
        old,
        this.landedBy(config, threadId, fenced.attempt),
      );
    }
    return checkpointConfig(threadId, ns, checkpoint.id);
  }

  /**
   * Stores a task's pending writes for a checkpoint: first wins per (task, idx) for regular writes, special writes
   * (error, interrupt, resume…) replace, `taskPath` is kept. Fenced like `put` (a superseded run gets `FencedError`).
   */
  async putWrites(config: RunnableConfig, writes: PendingWrite[], taskId: string, taskPath = ""): Promise<void> {
    const c = configurableOf(config);
    checkPutWritesInput({ writes, taskId, taskPath });
    const threadId = threadIdOf(c?.thread_id, "putWrites");
    const checkpointId = c?.checkpoint_id;
    if (typeof checkpointId !== "string" || checkpointId === "") {
      throw new InvalidInputError({
        issues: [{ path: ["configurable", "checkpoint_id"], message: "putWrites needs configurable.checkpoint_id" }],
      });
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

  /**
   * Prunes threads as Python's `BaseCheckpointSaver.prune`: `keep_latest` (default) keeps only the head of each
   * namespace, with its pending writes (so interrupts stay answerable); `delete` deletes each thread. Fenced: a prune
   * never deletes a head or what a head refers to, and one racing a run either lets it finish on the pruned thread or
   * re-reads and decides again; `delete` is `FencedError` while a run holds the thread. docs/lifecycle.md.
   *
   * @example
   * ```ts
   * const { checkpoints } = await checkpointer.prune(["t1", "t2"]); // keep_latest
   * ```
   */
  async prune(threadIds: string[], options: { strategy?: PruneStrategy } = {}): Promise<LifecycleCounts> {
    const ids = checkIds(threadIds, "threadIds").map((id) => threadIdOf(id, "prune"));
    const strategy = checkStrategy(options?.strategy ?? "keep_latest");
    const counts: LifecycleCounts = { threads: 0, checkpoints: 0 };
    for (const threadId of new Set(ids)) {
      const removed =
        strategy === "delete"
          ? await dropThread(this.lifecycle, threadId)
          : (await removeCheckpoints(this.lifecycle, threadId, notHead))?.checkpoints;
      if (removed) counts.threads++, (counts.checkpoints += removed);
    }
    return counts;
  }

  /**
   * Copies every checkpoint, value and pending write of a thread, every namespace, to a thread that has none
   * (`INVALID_INPUT` otherwise), as Python's `copy_thread`. The copy is one snapshot of the source: a write that lands
   * on the source meanwhile makes it read again. The target's heads name the source's heads; it runs on from there.
   */
  async copyThread(sourceThreadId: string, targetThreadId: string): Promise<LifecycleCounts> {
    const checkpoints = await copyThread(
      this.lifecycle,
      threadIdOf(sourceThreadId, "copyThread"),
      threadIdOf(targetThreadId, "copyThread"),
    );
    return { threads: checkpoints > 0 ? 1 : 0, checkpoints };
  }

  /**
   * Deletes every checkpoint whose `metadata.run_id` is one of `runIds` (a claimed run's checkpoints carry its run id,
   * `withThreadClaim`; any run's do when `configurable.run_id` is set), and their writes, as Python's
   * `delete_for_runs`. A head that goes moves back to its nearest ancestor that stays, by a commit of the head: fenced
   * like a put (`FencedError` while another run holds the thread).
   */
  async deleteForRuns(runIds: string[]): Promise<LifecycleCounts> {
    const runs = new Set(checkIds(runIds, "runIds"));
    const counts: LifecycleCounts = { threads: 0, checkpoints: 0 };
    for (const threadId of (await checkpointsOfRuns(this.checkpoints, [...runs])).keys()) {
      const removed = await removeCheckpoints(this.lifecycle, threadId, (row) => runs.has(runIdOf(row) ?? ""));
      if (removed?.checkpoints) counts.threads++, (counts.checkpoints += removed.checkpoints);
    }
    return counts;
  }

  /**
   * Applies the thread TTL (`ttl` option) once: every thread idle for `ttl.idleMs` — no head moved and no run started
   * since — is pruned by `ttl.strategy`. Idleness is judged from records the commit pins by version, so a run or a
   * resume that lands first makes the sweep leave the thread alone; a thread a run holds is left alone too (`busy`).
   * Counts land in the event log (`fenced-lifecycle/swept/*`) and the coordinator's `/metrics`.
   */
  sweep(): Promise<SweepCounts> {
    if (!this.ttl)
      throw new InvalidInputError({ issues: [{ path: ["ttl"], message: "sweep() needs the ttl option" }] });
    return sweepThreads(this.lifecycle, this.ttl);
  }

  /**
   * Whether a thread is `idle`, `busy` (a run holds it: owner, run id, since, lease end) or `interrupted` (the
   * interrupts waiting for an answer), from the run claim and the head.
   */
  threadStatus(threadId: string): Promise<ThreadStatus> {
    return threadStatus(this, threadId);
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

  /**
   * The root checkpoints the run making this put has landed on `threadId` (a list to append to), or `undefined` when
   * the run cannot be told apart. A run is an `invokeWithRetry` attempt, else LangGraph's per-invoke `config.control`.
   */
  private landedBy(config: RunnableConfig, threadId: string, attempt: string | undefined): string[] | undefined {
    if (attempt !== undefined) return this.attempts.get(attempt);
    const control: unknown = (config as { control?: unknown }).control;
    if (typeof control !== "object" || control === null) return undefined;
    let threads = this.runs.get(control);
    if (!threads) this.runs.set(control, (threads = new Map()));
    let landed = threads.get(threadId);
    if (!landed) threads.set(threadId, (landed = []));
    return landed;
  }

  /**
   * The head version a put that is not a plain child of a stored checkpoint expects: an explicit fork (or, with
   * `parentlessPut: "fork"`, a parentless put) is measured against the head as it is now; a parentless put otherwise
   * expects an empty lineage, so it conflicts with the head there is (G7: two "first" runs).
   */
  private async currentHeadVersion(keys: ThreadKeys, ns: string, fork: boolean): Promise<number> {
    const head = await this.store.read(keys.head(ns));
    if (!head.exists || fork || this.parentlessPut === "fork") return head.version;
    return 0;
  }

  /**
   * Whether `forkConfig` asked for this put: its parent is a fork point, or the parent of one (nothing, for a root):
   * LangGraph's `"__copy__"` puts the copy of a checkpoint where that checkpoint was put.
   */
  private async isExplicitFork(
    threadId: string,
    ns: string,
    parentId: string | null,
    forkFrom: readonly string[],
  ): Promise<boolean> {
    if (parentId !== null && forkFrom.includes(parentId)) return true;
    for (const id of forkFrom) {
      const point = await this.parentFacts(threadId, ns, id);
      if (point !== undefined && point.parentId === parentId) return true;
    }
    return false;
  }

  /** A put whose checkpoint id is stored already: a no-op when it carries the same checkpoint, else `INVALID_INPUT`. */
  private async rePut(
    threadId: string,
    ns: string,
    checkpoint: Checkpoint,
    put: SerializedPut,
    cause: unknown,
  ): Promise<RunnableConfig> {
    const stored = await this.checkpoints.getCheckpoint({ threadId, ns, checkpointId: checkpoint.id });
    // No row: it was deleted in between, or the id is a pruned checkpoint's whose values are kept; the put's error stands.
    if (!stored) throw cause;
    if (await samePut(this.serde, stored, put, checkpoint)) return checkpointConfig(threadId, ns, checkpoint.id);
    throw new InvalidInputError({
      issues: [
        { path: ["checkpoint", "id"], message: `checkpoint ${checkpoint.id} already exists with different content` },
      ],
    });
  }

  /**
   * What a put needs of a stored checkpoint, from the cache (at once, without a promise: a run's puts follow each
   * other) or its row; `undefined` if it is not stored.
   */
  private parentFacts(threadId: string, ns: string, checkpointId: string): Awaitable<ParentFacts | undefined> {
    return this.parents.get(cacheKey(threadId, ns, checkpointId)) ?? this.loadParentFacts(threadId, ns, checkpointId);
  }

  private async loadParentFacts(threadId: string, ns: string, checkpointId: string): Promise<ParentFacts | undefined> {
    const loaded = await this.checkpoints.getCheckpoint({ threadId, ns, checkpointId });
    if (!loaded) return undefined;
    const facts = {
      headVersion: loaded.headVersion,
      blobRefs: loaded.blobRefs,
      channelVersions: await storedChannelVersions(this.serde, loaded),
      parentId: loaded.parentId,
    };
    this.remember(threadId, ns, checkpointId, facts);
    return facts;
  }

  private remember(threadId: string, ns: string, checkpointId: string, facts: ParentFacts): void {
    this.parents.set(cacheKey(threadId, ns, checkpointId), facts);
    const lineage = lineageKey(threadId, ns);
    if (facts.headVersion > (this.headVersions.get(lineage) ?? 0)) {
      this.headVersions.set(lineage, facts.headVersion);
    }
  }

  /** `checkpointId` `null`: a root's parent, i.e. nothing (a parentless put). */
  private rememberOldRead(threadId: string, ns: string, checkpointId: string | null): void {
    this.oldReads.set(cacheKey(threadId, ns, checkpointId ?? ""), true);
  }

  private async tuple(loaded: LoadedCheckpoint): Promise<CheckpointTuple> {
    const tuple = await toTuple(this.serde, loaded, async () => {
      const parent = await this.checkpoints.getCheckpoint({
        threadId: loaded.threadId,
        ns: loaded.ns,
        checkpointId: loaded.parentId!,
      });
      return parent?.writes ?? [];
    });
    this.remember(loaded.threadId, loaded.ns, loaded.checkpointId, {
      headVersion: loaded.headVersion,
      blobRefs: loaded.blobRefs,
      channelVersions: { ...tuple.checkpoint.channel_versions },
      parentId: loaded.parentId,
    });
    return tuple;
  }
}

/**
 * The guard that fences a write outside the root head by the thread's run claim: the run's epoch must still be the
 * live claim's, and a write without one is refused while any run holds the thread (G2: no bypass).
 */
/** The end of a put's checkpoint insert: `false` (its id is in the lineage) rolls the put back. */
function insertedOrExists(inserted: boolean, row: CheckpointRow): void {
  if (!inserted) throw new CheckpointExistsError(row);
}

function runFence(keys: ThreadKeys, epoch: number | undefined): Guard {
  return { key: keys.claimKey, epoch: epoch ?? null };
}

/** Splits `open`/`fromConnString` options into the saver's and the store's. */
function splitOptions<O extends FencedCheckpointSaverOptions>(
  options: O,
): [FencedCheckpointSaverOptions, Omit<O, keyof FencedCheckpointSaverOptions>] {
  const { keyPrefix, parentlessPut, serde, ttl, ...store } = options;
  const saver: FencedCheckpointSaverOptions = {};
  if (ttl !== undefined) saver.ttl = ttl;
  if (keyPrefix !== undefined) saver.keyPrefix = keyPrefix;
  if (parentlessPut !== undefined) saver.parentlessPut = parentlessPut;
  if (serde !== undefined) saver.serde = serde;
  return [saver, store];
}

function nsOf(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (typeof value !== "string") {
    throw new InvalidInputError({ issues: [{ path: ["configurable", "checkpoint_ns"], message: "must be a string" }] });
  }
  return value;
}

function lineageKey(threadId: string, ns: string): string {
  return `${threadId}\u0000${ns}`;
}

function cacheKey(threadId: string, ns: string, checkpointId: string): string {
  return `${threadId}\u0000${ns}\u0000${checkpointId}`;
}

function headOf(record: StateRecord): HeadRecord | undefined {
  return record.exists ? (record.value as unknown as HeadRecord) : undefined;
}

/**
 * The typed G7 error: which thread, which parent the put started from, which checkpoint is the head now, why
 * (`"old-checkpoint"` when the run started from a checkpoint that was already not the head: time travel, `updateState`
 * or `"__copy__"` of a past state without `forkConfig`; `"head-moved"` when another run advanced the thread), and what
 * of the run had already landed (`landed`; a run that landed part of itself is `partial` and not retryable).
 */
function lineageConflict(
  threadId: string,
  ns: string,
  parentId: string | null,
  headRecord: StateRecord,
  expectedVersion: number | null,
  old: boolean,
  landed: string[] | undefined,
): VersionConflictError {
  const head = headOf(headRecord)?.checkpointId ?? null;
  const where = ns === "" ? `thread "${threadId}"` : `thread "${threadId}" namespace "${ns}"`;
  const partial = landed !== undefined && landed.length > 0;
  const message = old
    ? `${where}: this write starts from checkpoint ${parentId ?? "(none: a copy of the root)"}, which is not the head ` +
      `(the head is ${head ?? "gone"}). Running or editing an old checkpoint forks the thread; ask for the fork with ` +
      "forkConfig: graph.invoke(input, forkConfig(config)) or graph.updateState(forkConfig(config), values)."
    : `${where} moved on: this run started from ${parentId ?? "no checkpoint"} but the head is ${head ?? "gone"}. ` +
      (partial
        ? `Part of this run had already landed (checkpoints ${landed.join(", ")}): re-running its input would apply it ` +
          "twice; look at the thread (graph.getState) before doing anything."
        : "Another run advanced the thread; re-run from the head (invokeWithRetry) or fork explicitly (forkConfig).");
  return new VersionConflictError(
    {
      key: headRecord.key,
      expectedVersion,
      actualVersion: headRecord.version,
      threadId,
      checkpointNs: ns,
      parentCheckpointId: parentId,
      headCheckpointId: head,
      reason: old ? "old-checkpoint" : "head-moved",
      ...(landed !== undefined && { landed: [...landed], partial }),
    },
    message,
  );
}

/**
 * `config.configurable`, or `INVALID_INPUT` when `config` is not an object at all (G6: garbage is a typed error) or
 * names its thread, namespace or checkpoint with a lone surrogate, which a backend would store as U+FFFD.
 */
function configurableOf(config: RunnableConfig): RunnableConfig["configurable"] {
  if (config === null || typeof config !== "object") {
    throw new InvalidInputError({ issues: [{ path: ["config"], message: "config must be an object" }] });
  }
  const c = config.configurable;
  for (const field of ["thread_id", "checkpoint_ns", "checkpoint_id"]) {
    const value: unknown = c?.[field];
    if (typeof value === "string" && !isWellFormed(value)) {
      throw new InvalidInputError({
        issues: [{ path: ["configurable", field], message: "must be well-formed Unicode (no lone UTF-16 surrogates)" }],
      });
    }
  }
  return c;
}
