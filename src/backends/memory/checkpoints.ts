/**
 * Checkpoint rows for the in-memory backend: the same contract as SQLite's (`CheckpointTx`, `CheckpointReader`).
 * A transaction journals its writes; `MemoryBackend.transact` applies the journal only when the commit succeeds.
 */
import type { StoredRecord } from "../../core/backend.js";
import {
  headCheckpointId,
  type BlobAddress,
  type WriteKey,
  type CheckpointBlob,
  type CheckpointQuery,
  type CheckpointReader,
  type CheckpointRef,
  type CheckpointRow,
  type CheckpointTx,
  type CheckpointWrite,
  type LoadedCheckpoint,
} from "../../core/checkpoints.js";
import type { Json } from "../../core/json.js";
import { compareKeys, compareWrites } from "../key-order.js";

interface Lineage {
  rows: Map<string, CheckpointRow>;
  /** checkpointId → the values it wrote, by channel. */
  blobs: Map<string, Map<string, CheckpointBlob>>;
  /** checkpointId → (`taskId \0 idx` → write). */
  writes: Map<string, Map<string, CheckpointWrite>>;
}

type JournalEntry =
  | { kind: "row"; row: CheckpointRow; blobs: CheckpointBlob[] }
  | { kind: "writes"; ref: CheckpointRef; writes: CheckpointWrite[] }
  | { kind: "deleteThread"; threadId: string }
  | { kind: "deleteCheckpoints"; refs: CheckpointRef[]; blobs: BlobAddress[] }
  | { kind: "deleteWrites"; ref: CheckpointRef; writes: WriteKey[] }
  | { kind: "setHeadVersion"; ref: CheckpointRef; headVersion: number };

/** A transaction's checkpoint writes, applied by `apply()` once the commit lands. */
export interface MemoryCheckpointTx {
  tx: CheckpointTx;
  apply(): void;
}

export class MemoryCheckpoints implements CheckpointReader {
  /** threadId → ns → lineage. */
  private readonly threads = new Map<string, Map<string, Lineage>>();

  /** `records` reads the backend's committed core records (for head records). */
  constructor(private readonly records: (key: string) => StoredRecord | undefined) {}

  begin(): MemoryCheckpointTx {
    const journal: JournalEntry[] = [];
    const tx: CheckpointTx = {
      insertCheckpoint: (row, blobs) => {
        if (this.takenAfter(journal, row)) return false;
        journal.push({
          kind: "row",
          row: { ...row, blobRefs: { ...row.blobRefs } },
          blobs: blobs.map((b) => ({ ...b })),
        });
        return true;
      },
      putWrites: (ref, writes) => void journal.push({ kind: "writes", ref: { ...ref }, writes: [...writes] }),
      deleteThread: (threadId) => void journal.push({ kind: "deleteThread", threadId }),
      deleteCheckpoints: (refs, blobs) =>
        void journal.push({
          kind: "deleteCheckpoints",
          refs: refs.map((r) => ({ ...r })),
          blobs: blobs.map((b) => ({ ...b })),
        }),
      deleteWrites: (ref, writes) =>
        void journal.push({ kind: "deleteWrites", ref: { ...ref }, writes: writes.map((w) => ({ ...w })) }),
      setHeadVersion: (ref, headVersion) => void journal.push({ kind: "setHeadVersion", ref: { ...ref }, headVersion }),
    };
    return {
      tx,
      apply: () =>
        journal.forEach((entry) => {
          this.applyEntry(entry);
        }),
    };
  }

  async getCheckpoint(ref: CheckpointRef): Promise<LoadedCheckpoint | undefined> {
    const lineage = this.threads.get(ref.threadId)?.get(ref.ns);
    const row = lineage?.rows.get(ref.checkpointId);
    return row && load(lineage!, row);
  }

  async getHeadCheckpoint(q: { threadId: string; ns: string; headKey: string }): Promise<LoadedCheckpoint | undefined> {
    const head = this.records(q.headKey)?.valueText;
    const checkpointId = head == null ? undefined : headCheckpointId(JSON.parse(head) as Json);
    return checkpointId === undefined
      ? undefined
      : this.getCheckpoint({ threadId: q.threadId, ns: q.ns, checkpointId });
  }

  async listCheckpoints(q: CheckpointQuery): Promise<LoadedCheckpoint[]> {
    const found: { lineage: Lineage; row: CheckpointRow }[] = [];
    for (const [threadId, namespaces] of this.threads) {
      if (q.threadId !== undefined && threadId !== q.threadId) continue;
      for (const [ns, lineage] of namespaces) {
        if (q.ns !== undefined && ns !== q.ns) continue;
        for (const row of lineage.rows.values()) {
          if (q.beforeId !== undefined && compareKeys(row.checkpointId, q.beforeId) >= 0) continue;
          if (q.after !== undefined && compareRefs(row, q.after) >= 0) continue;
          if (q.metadata !== undefined && !metadataMatches(row, q.metadata)) continue;
          found.push({ lineage, row });
        }
      }
    }
    found.sort((a, b) => compareRefs(b.row, a.row));
    return found.slice(0, q.limit).map(({ lineage, row }) => load(lineage, row));
  }

  /**
   * Whether `ref`'s id is taken once the journal so far is applied: a row has it, or values a deleted checkpoint of
   * that id wrote are still kept for later checkpoints (`CheckpointTx.insertCheckpoint`).
   */
  private takenAfter(journal: JournalEntry[], ref: CheckpointRef): boolean {
    const lineage = this.threads.get(ref.threadId)?.get(ref.ns);
    let row = lineage?.rows.has(ref.checkpointId) ?? false;
    const kept = new Set(lineage?.blobs.get(ref.checkpointId)?.keys());
    for (const e of journal) {
      if (e.kind === "deleteThread" && e.threadId === ref.threadId) {
        row = false;
        kept.clear();
      } else if (e.kind === "row" && sameRef(e.row, ref)) {
        row = true;
        for (const b of e.blobs) kept.add(b.channel);
      } else if (e.kind === "deleteCheckpoints") {
        if (e.refs.some((r) => sameRef(r, ref))) row = false;
        for (const b of e.blobs) if (sameRef(b, ref)) kept.delete(b.channel);
      }
    }
    return row || kept.size > 0;
  }

  private applyEntry(e: JournalEntry): void {
    switch (e.kind) {
      case "row": {
        const lineage = this.lineage(e.row.threadId, e.row.ns);
        lineage.rows.set(e.row.checkpointId, e.row);
        lineage.blobs.set(e.row.checkpointId, new Map(e.blobs.map((b) => [b.channel, b])));
        return;
      }
      case "writes": {
        const all = this.lineage(e.ref.threadId, e.ref.ns).writes;
        let stored = all.get(e.ref.checkpointId);
        if (!stored) all.set(e.ref.checkpointId, (stored = new Map()));
        for (const w of e.writes) {
          const k = `${w.taskId}\u0000${w.idx}`;
          if (w.idx >= 0 && stored.has(k)) continue;
          stored.set(k, { ...w });
        }
        return;
      }
      case "deleteThread":
        this.threads.delete(e.threadId);
        return;
      case "deleteCheckpoints":
        // The values a deleted checkpoint wrote stay in `blobs` until named: kept checkpoints may refer to them.
        for (const r of e.refs) {
          const lineage = this.threads.get(r.threadId)?.get(r.ns);
          lineage?.rows.delete(r.checkpointId);
          lineage?.writes.delete(r.checkpointId);
        }
        for (const b of e.blobs) this.threads.get(b.threadId)?.get(b.ns)?.blobs.get(b.checkpointId)?.delete(b.channel);
        return;
      case "deleteWrites": {
        const stored = this.threads.get(e.ref.threadId)?.get(e.ref.ns)?.writes.get(e.ref.checkpointId);
        for (const w of e.writes) stored?.delete(`${w.taskId}\u0000${w.idx}`);
        return;
      }
      case "setHeadVersion": {
        const rows = this.threads.get(e.ref.threadId)?.get(e.ref.ns)?.rows;
        const row = rows?.get(e.ref.checkpointId);
        if (row) rows!.set(e.ref.checkpointId, { ...row, headVersion: e.headVersion });
        return;
      }
    }
  }

  private lineage(threadId: string, ns: string): Lineage {
    let namespaces = this.threads.get(threadId);
    if (!namespaces) this.threads.set(threadId, (namespaces = new Map()));
    let lineage = namespaces.get(ns);
    if (!lineage) namespaces.set(ns, (lineage = { rows: new Map(), blobs: new Map(), writes: new Map() }));
    return lineage;
  }
}

function load(lineage: Lineage, row: CheckpointRow): LoadedCheckpoint {
  const blobs: CheckpointBlob[] = [];
  for (const [channel, writer] of Object.entries(row.blobRefs)) {
    const blob = lineage.blobs.get(writer.checkpointId)?.get(channel);
    if (blob) blobs.push(blob);
  }
  const writes = [...(lineage.writes.get(row.checkpointId)?.values() ?? [])].sort(compareWrites);
  return { ...row, blobRefs: { ...row.blobRefs }, blobs, writes };
}

function sameRef(a: CheckpointRef, b: CheckpointRef): boolean {
  return a.threadId === b.threadId && a.ns === b.ns && a.checkpointId === b.checkpointId;
}

/** Orders refs by (checkpointId, threadId, ns) in UTF-8 byte order, as SQLite does. */
function compareRefs(a: CheckpointRef, b: CheckpointRef): number {
  return compareKeys(a.checkpointId, b.checkpointId) || compareKeys(a.threadId, b.threadId) || compareKeys(a.ns, b.ns);
}

function metadataMatches(row: CheckpointRow, filter: Record<string, Json>): boolean {
  if (row.type !== "json") return false;
  const metadata = JSON.parse(Buffer.from(row.metadata).toString("utf8")) as Record<string, Json>;
  return Object.entries(filter).every(
    ([k, v]) => Object.hasOwn(metadata, k) && JSON.stringify(metadata[k]) === JSON.stringify(v),
  );
}
