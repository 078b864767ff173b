/**
 * LangGraph threads for the inspector, read where `FencedCheckpointSaver` keeps them: each (thread, namespace) has a
 * head record at `ThreadKeys.head(ns)` whose value names the head checkpoint, the root head carries the run claim, and
 * the checkpoint rows sit in the backend's `CheckpointReader`. Values are decoded with the saver's serializer
 * (LangGraph's `JsonPlusSerializer` unless the caller gives another), loaded only when a checkpoint's state is asked
 * for, so the inspector runs without the LangGraph packages until then.
 */
import type { SerializerProtocol } from "@langchain/langgraph-checkpoint";
import type { Backend } from "../core/backend.js";
import type { CheckpointReader, LoadedCheckpoint } from "../core/checkpoints.js";
import { FencedStateError, InvalidInputError } from "../core/errors.js";
import { ThreadKeys, decodeSegment } from "../langgraph/keys.js";
import { claimView, type ClaimView } from "./keys.js";
import { toPlainJson } from "./plain.js";
import type { CheckpointQuery, LineageQuery, ThreadsQuery } from "./schemas.js";

/** The saver's default key prefix (`FencedCheckpointSaverOptions.keyPrefix`). */
export const DEFAULT_LANGGRAPH_PREFIX = "langgraph";
/** LangGraph's channel for interrupts (`INTERRUPT` in @langchain/langgraph-checkpoint). */
const INTERRUPT = "__interrupt__";
/** Most keys one threads request scans. */
const THREAD_SCAN_BUDGET = 5_000;

/** A lineage's head record: which checkpoint it names, at which version of the record. */
export interface HeadView {
  checkpointId: string | null;
  version: number;
  updatedAt: number;
}

/** A thread in the list. */
export interface ThreadRow {
  threadId: string;
  /** The root namespace's head; `checkpointId` is `null` once the thread was deleted. */
  head: HeadView;
  /** The claim on the thread (its root head): the run holding it when `live`. */
  run: ClaimView | null;
}

export interface ThreadDetail extends ThreadRow {
  /** Every checkpoint namespace with a head (`""` is the root graph), with that head. */
  namespaces: { ns: string; head: HeadView }[];
}

/** One checkpoint in a lineage page: what the tree draws. */
export interface LineageNode {
  id: string;
  parentId: string | null;
  step: number | null;
  source: string | null;
  ts: string | null;
  /** Pending writes attached to the checkpoint (values left out: open the checkpoint for them). */
  writes: { taskId: string; channel: string; idx: number }[];
  /** How many of those writes are interrupts. */
  interrupts: number;
}

/** A page of a lineage; `next` is the `after` cursor (a checkpoint id), `null` after the oldest checkpoint. */
export interface LineagePage {
  headId: string | null;
  nodes: LineageNode[];
  next: string | null;
}

/** The state at one checkpoint, as plain JSON for the page. */
export interface CheckpointState {
  id: string;
  parentId: string | null;
  metadata: unknown;
  values: unknown;
  pendingWrites: { taskId: string; channel: string; value: unknown }[];
}

/** The LangGraph part of the inspector, over one backend and the saver's key prefix. */
export class ThreadInspector {
  private serde: Promise<SerializerProtocol> | undefined;

  constructor(
    private readonly backend: Backend,
    private readonly keyPrefix: string = DEFAULT_LANGGRAPH_PREFIX,
    serde?: SerializerProtocol,
  ) {
    if (serde) this.serde = Promise.resolve(serde);
  }

  /** True when the store holds any LangGraph thread (so the page shows the section). */
  async present(): Promise<boolean> {
    return (
      (await this.backend.listRecords({ prefix: `${this.keyPrefix}/`, limit: 1, includeDeleted: true })).length > 0
    );
  }

  /** Threads by id (in key order of their encoded ids). `next` is the last key scanned. */
  async listThreads(q: ThreadsQuery, now: number): Promise<{ threads: ThreadRow[]; next: string | null }> {
    const threads: ThreadRow[] = [];
    let after = q.after;
    for (let scanned = 0; scanned < THREAD_SCAN_BUDGET && threads.length < q.limit; ) {
      const page = await this.backend.listRecords({
        prefix: `${this.keyPrefix}/`,
        limit: 1000,
        includeDeleted: true,
        ...(after !== undefined && { after }),
      });
      for (const r of page) {
        after = r.key;
        const threadId = this.rootHeadThread(r.key);
        if (threadId === undefined) continue;
        const claim = await this.backend.getClaim(r.key);
        threads.push({ threadId, head: headView(r.valueText, r.version, r.updatedAt), run: claimView(claim, now) });
        if (threads.length === q.limit) break;
      }
      if (page.length < 1000 && threads.length < q.limit) return { threads, next: null };
      scanned += page.length;
    }
    return { threads, next: after ?? null };
  }

  /** One thread: its heads per namespace and the run holding it. */
  async thread(threadId: string, now: number): Promise<ThreadDetail> {
    const keys = new ThreadKeys(this.keyPrefix, threadId);
    const headsPrefix = keys.head("").slice(0, -1); // "<prefix>/<thread>/head/"
    const namespaces: ThreadDetail["namespaces"] = [];
    for (let after: string | undefined; ; ) {
      const page = await this.backend.listRecords({
        prefix: headsPrefix,
        limit: 1000,
        includeDeleted: true,
        ...(after !== undefined && { after }),
      });
      for (const r of page)
        namespaces.push({
          ns: decodeSegment(r.key.slice(headsPrefix.length)),
          head: headView(r.valueText, r.version, r.updatedAt),
        });
      if (page.length < 1000) break;
      after = page[page.length - 1]!.key;
    }
    const root = namespaces.find((n) => n.ns === "");
    if (!root)
      throw new FencedStateError("NOT_FOUND", `no thread "${threadId}" under ${this.keyPrefix}/`, {
        key: keys.claimKey,
      });
    const claim = await this.backend.getClaim(keys.claimKey);
    return { threadId, head: root.head, run: claimView(claim, now), namespaces };
  }

  /** One page of a lineage, newest checkpoint first, each with its parent so the page can draw the tree. */
  async lineage(q: LineageQuery): Promise<LineagePage> {
    const reader = this.reader();
    const head = await this.backend.getRecord(new ThreadKeys(this.keyPrefix, q.thread).head(q.ns));
    const rows = await reader.listCheckpoints({
      threadId: q.thread,
      ns: q.ns,
      limit: q.limit,
      ...(q.after !== undefined && { after: { threadId: q.thread, ns: q.ns, checkpointId: q.after } }),
    });
    const nodes = await Promise.all(rows.map((row) => this.node(row)));
    return {
      headId: head ? headView(head.valueText, head.version, head.updatedAt).checkpointId : null,
      nodes,
      next: rows.length === q.limit ? rows[rows.length - 1]!.checkpointId : null,
    };
  }

  /** The state at one checkpoint: its channel values, metadata and pending writes, decoded as the saver would. */
  async checkpoint(q: CheckpointQuery): Promise<CheckpointState> {
    const reader = this.reader();
    const loaded = await reader.getCheckpoint({ threadId: q.thread, ns: q.ns, checkpointId: q.id });
    if (!loaded)
      throw new FencedStateError("NOT_FOUND", `no checkpoint ${q.id} in thread "${q.thread}"`, { key: q.id });
    const [{ toTuple }, serde] = await Promise.all([import("../langgraph/rows.js"), this.serializer()]);
    const tuple = await toTuple(serde, loaded, async () => {
      const parent = await reader.getCheckpoint({ threadId: q.thread, ns: q.ns, checkpointId: loaded.parentId! });
      return parent?.writes ?? [];
    });
    return {
      id: loaded.checkpointId,
      parentId: loaded.parentId,
      metadata: toPlainJson(tuple.metadata),
      values: toPlainJson(tuple.checkpoint.channel_values),
      pendingWrites: (tuple.pendingWrites ?? []).map(([taskId, channel, value]) => ({
        taskId,
        channel,
        value: toPlainJson(value),
      })),
    };
  }

  /** The thread id when `key` is a thread's root head (`<prefix>/<thread>/head/~`). */
  private rootHeadThread(key: string): string | undefined {
    const rest = key.slice(this.keyPrefix.length + 1);
    const slash = rest.indexOf("/");
    if (slash <= 0 || rest.slice(slash) !== "/head/~") return undefined;
    return decodeSegment(rest.slice(0, slash));
  }

  private async node(row: LoadedCheckpoint): Promise<LineageNode> {
    const [metadata, checkpoint] = await Promise.all([
      this.decode(row.type, row.metadata),
      this.decode(row.type, row.checkpoint),
    ]);
    const meta = (metadata ?? {}) as { step?: unknown; source?: unknown };
    const ts = (checkpoint as { ts?: unknown } | undefined)?.ts;
    return {
      id: row.checkpointId,
      parentId: row.parentId,
      step: typeof meta.step === "number" ? meta.step : null,
      source: typeof meta.source === "string" ? meta.source : null,
      ts: typeof ts === "string" ? ts : null,
      writes: row.writes.map((w) => ({ taskId: w.taskId, channel: w.channel, idx: w.idx })),
      interrupts: row.writes.filter((w) => w.channel === INTERRUPT).length,
    };
  }

  /** Metadata and the checkpoint body are plain JSON under the default serializer; anything else goes through it. */
  private async decode(type: string, bytes: Uint8Array): Promise<unknown> {
    if (type === "json")
      return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8")) as unknown;
    return (await this.serializer()).loadsTyped(type, bytes);
  }

  private reader(): CheckpointReader {
    const reader = this.backend.checkpoints;
    if (!reader)
      throw new InvalidInputError({
        issues: [{ path: ["store"], message: `the ${this.backend.kind} backend keeps no checkpoints` }],
      });
    return reader;
  }

  private serializer(): Promise<SerializerProtocol> {
    this.serde ??= import("@langchain/langgraph-checkpoint").then(
      ({ JsonPlusSerializer }) => new JsonPlusSerializer(),
      () => {
        throw new InvalidInputError({
          issues: [
            {
              path: [],
              message:
                "decoding checkpoint values needs @langchain/langgraph-checkpoint: npm install @langchain/langgraph-checkpoint",
            },
          ],
        });
      },
    );
    return this.serde;
  }
}

function headView(valueText: string | null, version: number, updatedAt: number): HeadView {
  const value = valueText === null ? undefined : (JSON.parse(valueText) as { checkpointId?: unknown });
  return { checkpointId: typeof value?.checkpointId === "string" ? value.checkpointId : null, version, updatedAt };
}
