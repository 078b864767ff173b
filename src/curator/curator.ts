/**
 * The memory curator (docs/curator.md): workers append memory events to an inbox instead of writing shared memory
 * directly; one curator at a time reads them in order, validates, dedupes, and writes the accepted ones as items of a
 * `FencedStore` (LangGraph's cross-thread memory).
 *
 * Why a crash anywhere neither loses nor doubles a memory: the inbox is a sequenced log (src/queue/log.ts: entries
 * become visible in seq order, each opId once), and the curator's position in it is a record, the cursor, that is
 * advanced in the same txn as the item writes and rejections it caused. A curator that dies before that txn commits
 * leaves no trace, and the next one redoes the batch; one that dies after it leaves the cursor past the batch. The
 * cursor key is also the curator's claim: the txn presents the claim's epoch, so a curator that stalled past its lease
 * while another took over is `FENCED` (G2) and none of its batch lands.
 */
import { z } from "zod";
import { jsonEqual, type Json } from "../core/json.js";
import { op } from "../core/ops.js";
import { retryConflicts } from "../core/retry.js";
import { JsonSchema, type Claim, type ClaimRef, type CommitRequest } from "../core/schemas.js";
import type { StateStore } from "../core/store.js";
import type { TxnItem } from "../core/commit.js";
import { parseInput } from "../core/validate.js";
import type { FencedStore } from "../langgraph/store.js";
import { QueueKeys } from "../queue/keys.js";
import { appendSequenced, type Appended } from "../queue/log.js";

/** Key prefix of every inbox: `curator/<name>/{next,ops/,events/,rejected/,cursor}`. */
export const CURATOR_ROOT = "curator";
const EVENTS = "events";
const REJECTED = "rejected";

/** One memory a worker proposes: an item of a `FencedStore` namespace. */
export const MemoryEventSchema = z
  .object({
    namespace: z.array(z.string().min(1).max(256)).min(1).max(16),
    key: z.string().min(1).max(256),
    value: z.record(z.string(), JsonSchema),
  })
  .strict();
export type MemoryEvent = z.infer<typeof MemoryEventSchema>;

/** The curator's position: every event with a seq up to `seq` has been curated. */
export interface Cursor {
  seq: number;
}

/** What one curated batch did. */
export interface BatchReport {
  /** First and last seq of the batch. */
  from: number;
  to: number;
  /** Events written as items. */
  accepted: number;
  /** Events whose item already held the same value (or that an earlier event of the batch wrote). */
  duplicates: number;
  /** Events that failed validation, kept at `rejected/<seq>` with the reason. */
  rejected: number;
}

/** Where workers append memory events; any number of processes may append concurrently. */
export class MemoryInbox {
  readonly keys: QueueKeys;

  constructor(
    readonly store: StateStore,
    readonly name: string,
  ) {
    this.keys = new QueueKeys(CURATOR_ROOT, name);
  }

  /**
   * Appends a memory event, once per `opId`: a worker that retries (after a crash, a timeout, a replayed LangGraph
   * task) appends nothing new. A malformed event is `INVALID_INPUT` and appends nothing.
   */
  async emit(event: MemoryEvent, options: { opId: string; owner?: string }): Promise<Appended> {
    const parsed = parseInput(MemoryEventSchema, event);
    return appendSequenced(this.store, this.keys, EVENTS, {
      opId: options.opId,
      identity: parsed,
      owner: options.owner,
      value: () => parsed,
    });
  }

  /** The last seq appended. */
  async lastSeq(): Promise<number> {
    return (await this.store.read(this.keys.next)).version;
  }

  /** The curator's cursor (0 before the first batch). */
  async cursor(): Promise<number> {
    const record = await this.store.read(this.cursorKey);
    return record.exists ? (record.value as unknown as Cursor).seq : 0;
  }

  /** The cursor record's key; it is also the key the curator claims. */
  get cursorKey(): string {
    return `${this.keys.prefix}cursor`;
  }
}

export interface CuratorOptions {
  /** This curator, for the claim and the event log. */
  owner: string;
  /** The curator claim's lease; renewed at each batch. Default 10 s. */
  leaseMs?: number;
  /** Events per batch (one txn). Default 100, at most 450. */
  batchSize?: number;
  /** A reason to reject the event, or `null` to accept it. May be slow (a model call); it runs before the txn. */
  validate?: (event: MemoryEvent, seq: number) => string | null | Promise<string | null>;
}

/**
 * One curator of an inbox. `start()` claims the inbox (`CLAIM_HELD` while another curator is live), `step()` curates
 * the next batch, `stop()` lets go.
 *
 * @example
 * ```ts
 * const curator = new MemoryCurator(state, memory, "team", { owner: "curator-1" });
 * await curator.start();
 * while (await curator.step()) {}   // FENCED if another curator took over
 * await curator.stop();
 * ```
 */
export class MemoryCurator {
  readonly inbox: MemoryInbox;
  private held: ClaimRef | undefined;
  private readonly leaseMs: number;
  private readonly batchSize: number;

  constructor(
    readonly store: StateStore,
    readonly memory: FencedStore,
    name: string,
    readonly options: CuratorOptions,
  ) {
    this.inbox = new MemoryInbox(store, name);
    this.leaseMs = options.leaseMs ?? 10_000;
    this.batchSize = parseInput(z.number().int().min(1).max(450), options.batchSize ?? 100);
  }

  /** Claims the inbox for this curator. */
  async start(options: { steal?: boolean } = {}): Promise<Claim> {
    const claim = await this.store.claim({
      key: this.inbox.cursorKey,
      owner: this.options.owner,
      ttlMs: this.leaseMs,
      ...options,
    });
    this.held = { key: claim.key, owner: claim.owner, epoch: claim.epoch };
    return claim;
  }

  /** Releases the claim (when it is still this curator's). */
  async stop(): Promise<void> {
    if (this.held) await this.store.release(this.held);
    this.held = undefined;
  }

  /**
   * Curates the events after the cursor, at most `batchSize`: validates them, drops duplicates, and commits the
   * accepted items, the rejections and the new cursor in one txn under the curator's claim. Returns `null` when
   * there was nothing new. Throws `FENCED` when another curator has taken over (nothing of the batch landed).
   */
  async step(): Promise<BatchReport | null> {
    const held = this.held;
    if (!held) throw new Error("MemoryCurator.step() before start()");
    await this.store.renew(held, this.leaseMs);
    // A conflict here is a concurrent write of one of the items (by the app): re-read and redo the batch.
    return retryConflicts(() => this.curate(held), { retries: 20 });
  }

  private async curate(held: ClaimRef): Promise<BatchReport | null> {
    const keys = this.inbox.keys;
    const cursorRecord = await this.store.read(this.inbox.cursorKey);
    const from = cursorRecord.exists ? (cursorRecord.value as unknown as Cursor).seq : 0;
    const events = await this.store.list({
      prefix: keys.of(EVENTS),
      after: keys.task(EVENTS, from),
      limit: this.batchSize,
    });
    if (events.length === 0) return null;

    const writes = new Map<string, { request: CommitRequest; value: Json }>();
    const rejections: TxnItem[] = [];
    const report: BatchReport = { from: from + 1, to: from, accepted: 0, duplicates: 0, rejected: 0 };
    for (const record of events) {
      const seq = keys.seqOf(record.key);
      report.to = seq;
      const parsed = MemoryEventSchema.safeParse(record.value);
      const reason = parsed.success
        ? ((await this.options.validate?.(parsed.data, seq)) ?? null)
        : `not a memory event: ${parsed.error.issues.map((i) => i.message).join("; ")}`;
      if (!parsed.success || reason !== null) {
        rejections.push({
          key: keys.task(REJECTED, seq),
          op: op.set({ event: record.value ?? null, reason }),
          expectVersion: 0,
        });
        report.rejected++;
        continue;
      }
      const event = parsed.data;
      const identity = JSON.stringify([event.namespace, event.key]);
      const pending = writes.get(identity);
      const current = pending ? pending.value : await this.currentValue(event);
      if (current !== undefined && jsonEqual(current, event.value)) {
        report.duplicates++;
        continue;
      }
      // The batch lands at once: a later event for the same item replaces the earlier one's write.
      const { request } = await this.memory.putRequest(event.namespace, event.key, event.value);
      writes.set(identity, { request, value: event.value });
      report.accepted++;
    }
    const owner = { owner: held.owner };
    await this.store.txn([
      {
        key: this.inbox.cursorKey,
        op: op.set({ seq: report.to }),
        expectVersion: cursorRecord.version,
        epoch: held.epoch,
        ...owner,
      },
      ...[...writes.values()].map(({ request: { opId: _, guards: __, ...item } }) => ({ ...item, ...owner })),
      ...rejections.map((r) => ({ ...r, ...owner })),
    ]);
    return report;
  }

  private async currentValue(event: MemoryEvent): Promise<Json | undefined> {
    return ((await this.memory.get(event.namespace, event.key))?.value as Json | undefined) ?? undefined;
  }
}
