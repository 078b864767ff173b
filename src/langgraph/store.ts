/**
 * `FencedStore`: LangGraph's `BaseStore` (cross-thread memory: `config.store` / `getStore()` in nodes) on the core.
 * Every item is a core record, every put and delete a core commit; `putIfVersion` and `update` add the compare-and-
 * commit that `BaseStore` lacks. LangGraph JS ships no SQLite store; this is one (and a memory one, and Postgres once
 * that backend lands).
 */
import { newOpId } from "../core/op-id.js";
import {
  BaseStore,
  type GetOperation,
  type Item,
  type ListNamespacesOperation,
  type MatchCondition,
  type Operation,
  type OperationResults,
  type PutOperation,
  type SearchItem,
  type SearchOperation,
} from "@langchain/langgraph-checkpoint";
import { InvalidInputError, isErrorCode } from "../core/errors.js";
import { jsonEqual, type Json } from "../core/json.js";
import { op } from "../core/ops.js";
import { retryConflicts, retryUnavailable, type BackoffOptions } from "../core/retry.js";
import type { CommitRequest, StateRecord } from "../core/schemas.js";
import type { StateStore } from "../core/store.js";
import {
  connStringOptions,
  openStore,
  openStoreLazily,
  type ConnStringStoreOptions,
  type OpenStoreOptions,
} from "../open.js";
import { parseInput } from "../core/validate.js";
import { decodeSegment, encodeSegment } from "./keys.js";
import { StoreArgs, checkNamespace, checkOperation } from "./store-input.js";
import { SWEEP_OWNER } from "./lifecycle.js";
import { sweptCounters } from "./retention.js";

export interface FencedStoreOptions {
  /** First segment of every key the store writes. Default `"store"`. */
  keyPrefix?: string;
  /**
   * Item TTL, as Python's store `ttl`: an item not written for `defaultMs` is expired — reads no longer see it, and
   * `sweepTtl()` (or the background sweep every `sweepEveryMs`, if given) deletes it. docs/lifecycle.md.
   */
  ttl?: StoreTtl;
}

/** The item TTL of a `FencedStore`. */
export interface StoreTtl {
  /** An item expires this many ms after its last write. */
  defaultMs: number;
  /** Sweep in the background every this many ms (an unref'd timer, stopped by `close()`). */
  sweepEveryMs?: number;
}

/** An item with the version a `putIfVersion` must name to replace it. */
export interface FencedItem extends Item {
  version: number;
}

/** The stored record value: the item's value and its creation time (updatedAt is the record's). */
interface StoredItem {
  value: { [key: string]: Json };
  createdAt: number;
}

type ItemValue = Record<string, unknown>;
const PAGE = 10_000;

/**
 * A LangGraph `BaseStore` whose writes are core commits.
 *
 * @example
 * ```ts
 * const store = await FencedStore.open();                          // SQLite at ./.fenced/state.db
 * const graph = builder.compile({ checkpointer, store });
 * await store.update(["users", "u1"], "profile", (p) => ({ ...p, visits: ((p?.visits as number) ?? 0) + 1 }));
 * ```
 */
export class FencedStore extends BaseStore {
  readonly state: StateStore;
  readonly keyPrefix: string;
  /** The item TTL, if any. */
  readonly ttl: StoreTtl | undefined;
  private ownsState = false;
  private closing: Promise<void> | undefined;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(state: StateStore, options: FencedStoreOptions = {}) {
    super();
    this.state = state;
    this.keyPrefix = options.keyPrefix ?? "store";
    this.ttl = options.ttl === undefined ? undefined : checkStoreTtl(options.ttl);
    if (this.ttl?.sweepEveryMs !== undefined) {
      this.sweeper = setInterval(() => {
        this.sweepTtl().catch((err: unknown) =>
          process.emitWarning(`fenced-state: store TTL sweep failed: ${String(err)}`),
        );
      }, this.ttl.sweepEveryMs);
      this.sweeper.unref();
    }
  }

  /**
   * Deletes every expired item (as Python's `sweep_ttl`) and returns how many. Each delete expects the version the
   * sweep read, so expiry is judged as of the commit: an item written meanwhile is newer, and stays. The count lands
   * in the event log (`fenced-lifecycle/swept/items`, incremented in the same commit) and the coordinator's `/metrics`.
   */
  async sweepTtl(): Promise<number> {
    if (!this.ttl)
      throw new InvalidInputError({ issues: [{ path: ["ttl"], message: "sweepTtl() needs the ttl option" }] });
    let swept = 0;
    for await (const r of this.records([])) {
      if (!r.exists || !this.expired(r)) continue;
      try {
        await this.state.txn([
          { key: r.key, op: op.delete(), expectVersion: r.version, owner: SWEEP_OWNER },
          ...sweptCounters("items", 1),
        ]);
        swept++;
      } catch (err) {
        if (!isErrorCode(err, "VERSION_CONFLICT")) throw err; // written (or swept) since it was read: not expired now
      }
    }
    return swept;
  }

  /** Whether an existing record's item has outlived the TTL, by the store's clock. */
  private expired(record: StateRecord): boolean {
    return (
      this.ttl !== undefined &&
      record.updatedAt !== undefined &&
      record.updatedAt + this.ttl.defaultMs <= this.state.now()
    );
  }

  /** The item a record holds, or `null` for a deleted or expired one. */
  private itemOf(namespace: string[], key: string, record: StateRecord): FencedItem | null {
    if (!record.exists || this.expired(record)) return null;
    return toItem(namespace, key, record.value as unknown as StoredItem, record.version, record.updatedAt!);
  }

  /**
   * The `FencedStore` behind the store a node gets (`getStore()`, `config.store`): LangGraph hands nodes a batching
   * wrapper, which has no `putIfVersion`/`update`. Throws `INVALID_INPUT` if the graph's store is not a FencedStore.
   */
  static from(store: BaseStore | undefined): FencedStore {
    const batched = store as unknown as { lg_name?: string; store?: BaseStore } | undefined;
    const inner = batched?.lg_name === "AsyncBatchedStore" ? batched.store : store;
    if (inner instanceof FencedStore) return inner;
    throw new InvalidInputError({
      issues: [{ path: ["store"], message: "compile the graph with a FencedStore ({ store })" }],
    });
  }

  /** Opens a state store (`openStore` options) and a `FencedStore` on it. */
  static async open(options: OpenStoreOptions & FencedStoreOptions = {}): Promise<FencedStore> {
    const { keyPrefix, ttl, ...storeOptions } = options;
    return new FencedStore(await openStore(storeOptions), storeOwnOptions(keyPrefix, ttl)).owning();
  }

  /**
   * A `FencedStore` on the store a connection string names: a SQLite file path, `":memory:"`, or a `postgres://` URL.
   * Synchronous, like `FencedCheckpointSaver.fromConnString`: the store opens on first use. Close it with `close()`.
   *
   * @example
   * ```ts
   * const store = FencedStore.fromConnString("./.fenced/state.db");
   * const graph = builder.compile({ checkpointer, store });
   * ```
   */
  static fromConnString(pathOrUrl: string, options: FencedStoreOptions & ConnStringStoreOptions = {}): FencedStore {
    const { keyPrefix, ttl, ...storeOptions } = options;
    return new FencedStore(
      openStoreLazily({ ...storeOptions, ...connStringOptions(pathOrUrl) }),
      storeOwnOptions(keyPrefix, ttl),
    ).owning();
  }

  /**
   * Closes the state store this `FencedStore` opened (`open`, `fromConnString`); idempotent. A state store passed to
   * the constructor belongs to the caller.
   */
  close(): Promise<void> {
    clearInterval(this.sweeper);
    if (!this.ownsState) return Promise.resolve();
    this.closing ??= this.state.close();
    return this.closing;
  }

  private owning(): this {
    this.ownsState = true;
    return this;
  }

  /**
   * Runs operations in order; reads see the store as it was before the batch, and the batch's puts and deletes land
   * together, in one transaction, when it ends (the last put of a key wins, as in `InMemoryStore`).
   */
  async batch<Op extends Operation[]>(operations: Op): Promise<OperationResults<Op>> {
    // Every operation is checked before any runs, so a bad one fails the batch before it reads or writes anything.
    parseInput(StoreArgs.batch, operations, ["operations"]);
    const checked = (operations as unknown as Record<string, unknown>[]).map(checkOperation);
    const results: unknown[] = [];
    const puts = new Map<string, PutOperation>();
    for (const o of checked) {
      if ("key" in o && "namespace" in o && !("value" in o)) results.push(await this.getItem(o as GetOperation));
      else if ("namespacePrefix" in o) results.push(await this.searchItems(o as SearchOperation));
      else if ("value" in o) {
        const put = o as PutOperation;
        puts.set(this.keyOf(put.namespace, put.key), put);
        results.push(undefined);
      } else results.push(await this.listNamespaceItems(o as ListNamespacesOperation));
    }
    if (puts.size > 0) await this.applyPuts([...puts.values()]);
    return results as OperationResults<Op>;
  }

  /** The item with its version, or `null`. */
  override async get(namespace: string[], key: string): Promise<FencedItem | null> {
    parseInput(StoreArgs.get, { namespace, key });
    checkNamespace(namespace, ["namespace"], false);
    return this.getItem({ namespace, key });
  }

  // BaseStore's search, put, delete and listNamespaces read their arguments before `batch` sees them (a null throws
  // a TypeError there, a bad namespace LangGraph's InvalidNamespaceError): each is checked here first.

  override async search(
    namespacePrefix: string[],
    options: Parameters<BaseStore["search"]>[1] = {},
  ): Promise<SearchItem[]> {
    parseInput(StoreArgs.search, { namespacePrefix, options });
    checkNamespace(namespacePrefix, ["namespacePrefix"], false);
    return super.search(namespacePrefix, options);
  }

  override async put(namespace: string[], key: string, value: ItemValue, index?: false | string[]): Promise<void> {
    parseInput(StoreArgs.put, { namespace, key, value, index });
    checkNamespace(namespace, ["namespace"], true);
    return super.put(namespace, key, value, index);
  }

  override async delete(namespace: string[], key: string): Promise<void> {
    parseInput(StoreArgs.delete, { namespace, key });
    checkNamespace(namespace, ["namespace"], false);
    return super.delete(namespace, key);
  }

  override async listNamespaces(options: Parameters<BaseStore["listNamespaces"]>[0] = {}): Promise<string[][]> {
    parseInput(StoreArgs.listNamespaces, { options });
    for (const field of ["prefix", "suffix"] as const) {
      const ns = options[field];
      if (ns) checkNamespace(ns, ["options", field], false);
    }
    return super.listNamespaces(options);
  }

  /**
   * Replaces (or, with `null`, deletes) an item only if it is still at `expectVersion` (0: must not exist).
   * Throws `VersionConflictError` otherwise; nothing is written.
   */
  async putIfVersion(
    namespace: string[],
    key: string,
    value: ItemValue | null,
    expectVersion: number,
  ): Promise<FencedItem | null> {
    parseInput(StoreArgs.putIfVersion, { namespace, key, value, expectVersion });
    checkNamespace(namespace, ["namespace"], value !== null);
    const recordKey = this.keyOf(namespace, key);
    const current = expectVersion === 0 ? undefined : await this.state.read(recordKey);
    const request = this.writeRequest(recordKey, value, current, expectVersion);
    const result = await this.state.commit(request);
    return value === null ? null : toItem(namespace, key, storedOf(request), result.version, this.state.now());
  }

  /**
   * Read, apply `fn`, commit with `expectVersion`; on conflict re-read and retry with backoff. `fn` returns the new
   * value, or `null` to delete. It must be pure: it may run several times.
   */
  async update(
    namespace: string[],
    key: string,
    fn: (current: ItemValue | undefined, item: FencedItem | null) => ItemValue | null | Promise<ItemValue | null>,
    options: BackoffOptions = {},
  ): Promise<FencedItem | null> {
    parseInput(StoreArgs.update, { namespace, key, fn, options });
    checkNamespace(namespace, ["namespace"], true);
    const recordKey = this.keyOf(namespace, key);
    return retryConflicts(async () => {
      const record = await this.state.read(recordKey);
      const item = this.itemOf(namespace, key, record);
      const value = await fn(item?.value, item);
      const request = {
        ...this.writeRequest(recordKey, value, item ? record : undefined, record.version),
        opId: newOpId(),
      };
      const result = await this.state.commitRetryingUnavailable(request, options.signal);
      return value === null ? null : toItem(namespace, key, storedOf(request), result.version, this.state.now());
    }, options);
  }

  /**
   * What a put of this item would commit, without committing it: the current item (or `null`) and the commit request
   * that replaces it at its current version (`value: null` deletes). For callers that must land item writes in a txn
   * of their own, such as the memory curator (src/curator), which advances its cursor in the same txn.
   */
  async putRequest(
    namespace: string[],
    key: string,
    value: ItemValue | null,
  ): Promise<{ current: FencedItem | null; request: CommitRequest }> {
    parseInput(StoreArgs.putIfVersion, { namespace, key, value, expectVersion: 0 });
    checkNamespace(namespace, ["namespace"], value !== null);
    const recordKey = this.keyOf(namespace, key);
    const record = await this.state.read(recordKey);
    const current = this.itemOf(namespace, key, record);
    return { current, request: this.writeRequest(recordKey, value, current ? record : undefined, record.version) };
  }

  private async getItem(o: GetOperation): Promise<FencedItem | null> {
    return this.itemOf(o.namespace, o.key, await this.state.read(this.keyOf(o.namespace, o.key)));
  }

  private async searchItems(o: SearchOperation): Promise<SearchItem[]> {
    const items: FencedItem[] = [];
    for await (const r of this.records(o.namespacePrefix)) {
      const { namespace, key } = this.decodeKey(r.key);
      const item = this.itemOf(namespace, key, r);
      if (!item) continue;
      if (o.filter && !Object.entries(o.filter).every(([k, v]) => matches(item.value[k], v))) continue;
      items.push(item);
    }
    // Newest first (as the Postgres store orders), ties by key; semantic `query` needs an index this store lacks.
    items.sort((a, b) => b.updatedAt.getTime() - a.updatedAt.getTime() || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const offset = o.offset ?? 0;
    return items.slice(offset, offset + (o.limit ?? 10));
  }

  private async listNamespaceItems(o: ListNamespacesOperation): Promise<string[][]> {
    const seen = new Map<string, string[]>();
    for await (const r of this.records([])) {
      if (this.expired(r)) continue;
      let ns = this.decodeKey(r.key).namespace;
      if (o.matchConditions && !o.matchConditions.every((c) => namespaceMatches(c, ns))) continue;
      if (o.maxDepth !== undefined) ns = ns.slice(0, o.maxDepth);
      seen.set(JSON.stringify(ns), ns);
    }
    const all = [...seen.values()].sort((a, b) => a.join("\u0000").localeCompare(b.join("\u0000")));
    return all.slice(o.offset ?? 0, (o.offset ?? 0) + (o.limit ?? all.length));
  }

  /** Puts and deletes of one batch, in one transaction; retried whole on conflict so createdAt stays right. */
  private async applyPuts(puts: PutOperation[]): Promise<void> {
    await retryConflicts(async () => {
      const requests: Omit<CommitRequest, "opId">[] = [];
      for (const put of puts) {
        const recordKey = this.keyOf(put.namespace, put.key);
        const current = await this.state.read(recordKey);
        if (put.value === null && !current.exists) continue;
        requests.push(this.writeRequest(recordKey, put.value, current, current.version));
      }
      if (requests.length === 0) return;
      const opId = newOpId();
      await retryUnavailable(() => this.state.txn(requests, { opId }));
    });
  }

  private writeRequest(
    key: string,
    value: ItemValue | null,
    current: StateRecord | undefined,
    expectVersion: number,
  ): CommitRequest {
    if (value === null) return { key, op: op.delete(), expectVersion };
    if (typeof value !== "object" || Array.isArray(value)) {
      throw new InvalidInputError({ issues: [{ path: ["value"], message: "a store item value must be an object" }] });
    }
    const createdAt = current?.exists ? (current.value as unknown as StoredItem).createdAt : this.state.now();
    return { key, op: op.set({ value: value as { [key: string]: Json }, createdAt }), expectVersion };
  }

  private async *records(namespacePrefix: string[]): AsyncGenerator<StateRecord> {
    const prefix = `${this.keyPrefix}/${namespacePrefix.map((l) => `${encodeSegment(l)}/`).join("")}`;
    for (let after: string | undefined; ; ) {
      const page = await this.state.list({ prefix, limit: PAGE, ...(after !== undefined && { after }) });
      yield* page;
      if (page.length < PAGE) return;
      after = page[page.length - 1]!.key;
    }
  }

  /** `<prefix>/<label>/…/=<key>`: labels and the key are encoded segments; `=` marks the key. */
  private keyOf(namespace: string[], key: string): string {
    return `${this.keyPrefix}/${namespace.map((l) => `${encodeSegment(l)}/`).join("")}=${encodeSegment(key)}`;
  }

  private decodeKey(recordKey: string): { namespace: string[]; key: string } {
    const segments = recordKey.slice(this.keyPrefix.length + 1).split("/");
    const last = segments.pop()!;
    return { namespace: segments.map(decodeSegment), key: decodeSegment(last.slice(1)) };
  }
}

function storeOwnOptions(keyPrefix: string | undefined, ttl: StoreTtl | undefined): FencedStoreOptions {
  return { ...(keyPrefix !== undefined && { keyPrefix }), ...(ttl !== undefined && { ttl }) };
}

/** The item TTL, checked: `INVALID_INPUT` unless its periods are positive numbers of milliseconds. */
function checkStoreTtl(ttl: StoreTtl): StoreTtl {
  const positive = (v: unknown) => typeof v === "number" && Number.isFinite(v) && v > 0;
  if (
    ttl === null ||
    typeof ttl !== "object" ||
    !positive(ttl.defaultMs) ||
    (ttl.sweepEveryMs !== undefined && !positive(ttl.sweepEveryMs))
  ) {
    throw new InvalidInputError({
      issues: [
        { path: ["ttl"], message: "defaultMs (and sweepEveryMs, if given) must be positive numbers of milliseconds" },
      ],
    });
  }
  return { ...ttl };
}

function storedOf(request: CommitRequest): StoredItem {
  return (request.op as unknown as { value: StoredItem }).value;
}

function toItem(namespace: string[], key: string, stored: StoredItem, version: number, updatedAt: number): FencedItem {
  return {
    namespace,
    key,
    value: stored.value,
    createdAt: new Date(stored.createdAt),
    updatedAt: new Date(updatedAt),
    version,
  };
}

/** `BaseStore` filter semantics: a plain value is equality (deep, for JSON), or an operator object. */
function matches(actual: unknown, wanted: unknown): boolean {
  if (wanted !== null && typeof wanted === "object" && !Array.isArray(wanted)) {
    const ops = Object.entries(wanted);
    if (ops.length > 0 && ops.every(([k]) => k.startsWith("$"))) return ops.every(([k, v]) => operator(k, actual, v));
  }
  return same(actual, wanted);
}

/** Deep JSON equality in which a missing field equals nothing but a missing filter value. */
function same(a: unknown, b: unknown): boolean {
  return a === undefined || b === undefined ? a === b : jsonEqual(a as Json, b as Json);
}

function operator(name: string, actual: unknown, v: unknown): boolean {
  switch (name) {
    case "$eq":
      return same(actual, v);
    case "$ne":
      return !same(actual, v);
    case "$gt":
      return Number(actual) > Number(v);
    case "$gte":
      return Number(actual) >= Number(v);
    case "$lt":
      return Number(actual) < Number(v);
    case "$lte":
      return Number(actual) <= Number(v);
    case "$in":
      return Array.isArray(v) && v.some((x) => same(actual, x));
    case "$nin":
      return Array.isArray(v) && !v.some((x) => same(actual, x));
    default:
      throw new InvalidInputError({ issues: [{ path: ["filter"], message: `unknown filter operator ${name}` }] });
  }
}

function namespaceMatches(condition: MatchCondition, ns: string[]): boolean {
  const { matchType, path } = condition;
  if (path.length > ns.length) return false;
  const start = matchType === "prefix" ? 0 : ns.length - path.length;
  return path.every((p, i) => p === "*" || p === ns[start + i]);
}
