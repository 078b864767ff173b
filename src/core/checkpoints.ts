/**
 * The lineage contract: what a backend stores for the LangGraph saver (docs/design.md §7). A lineage is one
 * (threadId, ns) chain of checkpoints whose head is a core record, so every head advance is a commit and is fenced
 * like any other write. The head record's shape is declared here once; backends read it only through
 * `HEAD_CHECKPOINT_FIELD` (SQL) or `headCheckpointId` (memory).
 */
import { InvalidInputError } from "./errors.js";
import type { Json } from "./json.js";

/** The value of a lineage's head record. */
export interface HeadRecord {
  /** The checkpoint the head names. */
  checkpointId: string;
  /** Its parent, or `null` for a lineage's first checkpoint. */
  parentCheckpointId: string | null;
}

/** The head record's field that names the head checkpoint; SQL backends read it with `->>`. */
export const HEAD_CHECKPOINT_FIELD = "checkpointId" satisfies keyof HeadRecord;

/** The head checkpoint id of a head record's value, or `undefined` when the value is not a head record. */
export function headCheckpointId(value: Json | undefined): string | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  const id = value[HEAD_CHECKPOINT_FIELD];
  return typeof id === "string" ? id : undefined;
}

/**
 * A checkpoint of a lineage: one (threadId, ns) chain of snapshots whose head is a core record, so that every head
 * advance is a commit. The LangGraph saver keeps its checkpoints here; nothing in this contract is LangGraph's.
 * Payloads are bytes the integration serialized; `metadata` is UTF-8 JSON when `type` is `"json"` (list filters
 * read it).
 */
export interface CheckpointRow {
  threadId: string;
  ns: string;
  checkpointId: string;
  parentId: string | null;
  /**
   * The version of the lineage's head record that this checkpoint's commit wrote, or that made it the head again
   * (`CheckpointTx.setHeadVersion`, when a rollback or `deleteForRuns` moves the head back to it). A put of a child
   * expects the head record at this version.
   */
  headVersion: number;
  type: string;
  checkpoint: Uint8Array;
  metadata: Uint8Array;
  /**
   * Channel → the checkpoint in this lineage that stored the channel's value (itself, for the channels it wrote).
   * Values are written once, by the checkpoint that changed them, and shared by its descendants.
   */
  blobRefs: Record<string, BlobRef>;
}

/**
 * Names the checkpoint that wrote a value. With the head version it is unique for all time (head versions only grow,
 * also across deleteThread), so a backend may cache what it names.
 */
export interface BlobRef {
  checkpointId: string;
  headVersion: number;
}

/** A checkpoint's blob refs as every backend stores them (JSON): {channel: [checkpointId, headVersion]}. */
export type StoredBlobRefs = Record<string, [checkpointId: string, headVersion: number]>;

/** The JSON text a backend stores for `refs` (`StoredBlobRefs`). */
export function blobRefsText(refs: Record<string, BlobRef>): string {
  const out: StoredBlobRefs = {};
  for (const [channel, r] of Object.entries(refs)) out[channel] = [r.checkpointId, r.headVersion];
  return JSON.stringify(out);
}

/** The refs a backend stored (`StoredBlobRefs`, parsed). */
export function blobRefsFromStored(stored: StoredBlobRefs): Record<string, BlobRef> {
  const out: Record<string, BlobRef> = {};
  for (const [channel, [checkpointId, headVersion]] of Object.entries(stored))
    out[channel] = { checkpointId, headVersion };
  return out;
}

/** One channel value, stored with the checkpoint that wrote it. */
export interface CheckpointBlob {
  channel: string;
  type: string;
  value: Uint8Array;
}

/** A pending write attached to a checkpoint. `idx < 0` marks a special write that replaces an earlier one. */
export interface CheckpointWrite {
  taskId: string;
  idx: number;
  channel: string;
  type: string;
  value: Uint8Array;
  /** The writing task's path; `""` when unknown. Writes sort by (taskPath, taskId, idx), strings by code point. */
  taskPath: string;
}

export interface CheckpointRef {
  threadId: string;
  ns: string;
  checkpointId: string;
}

/** One stored value: the channel a checkpoint wrote (its `BlobRef` names the writer). */
export interface BlobAddress extends CheckpointRef {
  channel: string;
}

/** A pending write's identity within its checkpoint. */
export interface WriteKey {
  taskId: string;
  idx: number;
}

/** A checkpoint with the referenced blobs that exist, and its writes in (taskPath, taskId, idx) order. */
export interface LoadedCheckpoint extends CheckpointRow {
  blobs: CheckpointBlob[];
  writes: CheckpointWrite[];
}

/** Which checkpoints `listCheckpoints` returns: newest first by (checkpointId, threadId, ns), descending. */
export interface CheckpointQuery {
  threadId?: string;
  ns?: string;
  /** Only checkpoints whose id sorts before this one. */
  beforeId?: string;
  /** Resume a listing strictly after this checkpoint (pagination). */
  after?: CheckpointRef;
  /** Top-level metadata keys whose values must have the same minified JSON text. Keys may not contain `"`. */
  metadata?: Record<string, Json>;
  limit: number;
}

/**
 * Checkpoint-row writes inside a commit's transaction. A backend that offers `checkpoints` runs the LangGraph saver;
 * its conformance suite is test/langgraph/saver.test.ts, which runs against every entry of `backendFixtures()`.
 */
export interface CheckpointTx {
  /**
   * Inserts a checkpoint with the blobs it wrote; returns `false`, writing nothing, when its id is taken: its lineage
   * has that checkpoint id, or still keeps values that a deleted checkpoint of that id wrote and later checkpoints
   * share (so an id is never reused while anything stored names it: a new checkpoint under it would mix its values
   * with the kept ones). With `existing: "fail"` the caller needs no answer inside the transaction: a backend that
   * batches writes (Postgres) may send the row with its COMMIT, and then a taken id fails the whole transaction with
   * `CheckpointExistsError` (nothing of it lands); a backend that answers at once still answers `false`.
   */
  insertCheckpoint(
    row: CheckpointRow,
    blobs: CheckpointBlob[],
    options?: { existing?: "fail" },
  ): boolean | Promise<boolean>;
  /** Stores writes of one checkpoint: first wins per (taskId, idx) when `idx >= 0`; a negative `idx` replaces. */
  putWrites(ref: CheckpointRef, writes: CheckpointWrite[]): void | Promise<void>;
  /** Deletes every checkpoint, blob and write of every namespace of a thread. */
  deleteThread(threadId: string): void | Promise<void>;
  /**
   * Deletes checkpoints and their writes, and the values named in `blobs`. A value a deleted checkpoint wrote and
   * `blobs` does not name stays readable through the `BlobRef`s of the checkpoints that still refer to it, so the
   * caller (the lineage's lifecycle, docs/lifecycle.md) deletes exactly the values nothing kept refers to.
   */
  deleteCheckpoints(refs: CheckpointRef[], blobs: BlobAddress[]): void | Promise<void>;
  /** Deletes the named pending writes of one checkpoint (a rollback takes back what the rolled-back run wrote). */
  deleteWrites(ref: CheckpointRef, writes: WriteKey[]): void | Promise<void>;
  /** Records that the head record, at `headVersion`, names this checkpoint again (see `CheckpointRow.headVersion`). */
  setHeadVersion(ref: CheckpointRef, headVersion: number): void | Promise<void>;
}

/** Checkpoint reads; rows are immutable once written, so reads need no transaction. */
export interface CheckpointReader {
  getCheckpoint(ref: CheckpointRef): Promise<LoadedCheckpoint | undefined>;
  /**
   * The checkpoint a lineage's head record names, read together with the record. The head record is a core record
   * whose value is a JSON object with a string `checkpointId`.
   */
  getHeadCheckpoint(query: { threadId: string; ns: string; headKey: string }): Promise<LoadedCheckpoint | undefined>;
  listCheckpoints(query: CheckpointQuery): Promise<LoadedCheckpoint[]>;
}

/**
 * A checkpoint's id is taken in its lineage: thrown by a batching backend's insert with `existing: "fail"` (see
 * `CheckpointTx.insertCheckpoint`), and by the saver when an insert answers `false`; either way the transaction rolls
 * back. To a caller it is the `INVALID_INPUT` a put of an existing id gets; the saver catches it to tell a re-put of
 * the same checkpoint (answered as landed) from a different one.
 */
export class CheckpointExistsError extends InvalidInputError {
  constructor(readonly ref: CheckpointRef) {
    super({
      issues: [
        {
          path: ["checkpoint", "id"],
          message:
            `checkpoint id ${ref.checkpointId} is taken in this lineage, by a stored checkpoint or by a deleted one ` +
            "whose values later checkpoints still share: checkpoint ids are not reused",
        },
      ],
    });
  }
}
