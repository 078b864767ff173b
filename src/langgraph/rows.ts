/**
 * Checkpoints ↔ stored rows. A checkpoint row holds the checkpoint without its channel values. A value is stored once,
 * as a blob of the checkpoint that wrote it; later checkpoints refer to it by (channel → that checkpoint's id) while
 * the channel keeps its version. Refs, unlike (channel, version) keys, cannot collide when two branches of a forked
 * thread both reach version n of a channel. Serialization happens here, outside the commit's transaction.
 */
import type { RunnableConfig } from "@langchain/core/runnables";
import {
  TASKS,
  WRITES_IDX_MAP,
  maxChannelVersion,
  type ChannelVersions,
  type Checkpoint,
  type CheckpointMetadata,
  type CheckpointPendingWrite,
  type CheckpointTuple,
  type PendingWrite,
  type SerializerProtocol,
} from "@langchain/langgraph-checkpoint";
import { isPending, type Awaitable } from "../core/backend.js";
import type { BlobRef, CheckpointBlob, CheckpointRow, CheckpointWrite, LoadedCheckpoint } from "../core/checkpoints.js";
import { InvalidInputError } from "../core/errors.js";
import { EncryptedSerializer } from "./encrypted.js";
import { dumpsPlain, isJsonPlus, loadsJson } from "./json-plus.js";

/** Marks a channel in `newVersions` that has no value (it was cleared): the blob says "absent", not "unknown". */
const EMPTY = "empty";
const NO_BYTES = new Uint8Array(0);

/**
 * A put's serialized parts. `row.blobRefs` holds the inherited refs; the commit that lands the put adds refs to its
 * own blobs (`withOwnRefs`), since they name the head version it writes.
 */
export interface SerializedPut {
  row: Omit<CheckpointRow, "headVersion">;
  blobs: CheckpointBlob[];
}

/** What a put inherits from: its parent's refs and the channel versions those refs hold. */
export interface PutParent {
  blobRefs: Record<string, BlobRef>;
  channelVersions: ChannelVersions;
}

/**
 * Serializes a put. Which values it writes, channel by channel:
 * - in `newVersions`: written (or marked absent);
 * - same version as in the parent: the parent's value, by ref;
 * - any other version, when the put has a parent or is a copy (`copy`): written from `channel_values`. LangGraph's
 *   `updateState(…, "__copy__")` puts a copy of a checkpoint under that checkpoint's parent (or under nothing, for a
 *   root) with an empty `newVersions` (test/langgraph/forks.test.ts);
 * - no version at all (LangGraph's `__pregel_tasks = []`): written, so `getTuple` returns what was put.
 * A put that starts from nothing and is no copy stores only `newVersions`: the official contract, which the validation
 * suite checks ("should only store channel_values that have changed").
 */
export function serializePut(
  serde: SerializerProtocol,
  ref: { threadId: string; ns: string; parentId: string | null },
  checkpoint: Checkpoint,
  metadata: CheckpointMetadata,
  newVersions: ChannelVersions,
  parent: PutParent | undefined,
  copy: boolean,
): Awaitable<SerializedPut> {
  const { channel_values: values, ...withoutValues } = checkpoint;
  const blobRefs: Record<string, BlobRef> = {};
  const written = new Set(Object.keys(newVersions));
  for (const [channel, version] of Object.entries(checkpoint.channel_versions)) {
    if (written.has(channel)) continue;
    const inherited = parent?.blobRefs[channel];
    if (inherited !== undefined && parent!.channelVersions[channel] === version) blobRefs[channel] = inherited;
    else if ((parent !== undefined || copy) && Object.hasOwn(values, channel)) written.add(channel);
  }
  for (const channel of Object.keys(values))
    if (!Object.hasOwn(checkpoint.channel_versions, channel)) written.add(channel);
  // A channel in newVersions without a value was cleared: its blob says "absent".
  const present: string[] = [];
  const cleared: string[] = [];
  for (const channel of written) (Object.hasOwn(values, channel) ? present : cleared).push(channel);
  const finish = (dumped: [string, Uint8Array][]): SerializedPut => {
    // dumped: the checkpoint, the metadata, then each present channel's value, in order.
    const [type, checkpointBytes] = dumped[0]!;
    const [metadataType, metadataBytes] = dumped[1]!;
    if (type !== metadataType) {
      throw new InvalidInputError({
        issues: [{ path: ["metadata"], message: `serialized as ${metadataType}, checkpoint as ${type}` }],
      });
    }
    const blobs: CheckpointBlob[] = [];
    for (let i = 0; i < present.length; i++) {
      const [valueType, value] = dumped[2 + i]!;
      blobs.push({ channel: present[i]!, type: valueType, value });
    }
    for (const channel of cleared) blobs.push({ channel, type: EMPTY, value: NO_BYTES });
    return {
      row: {
        ...ref,
        checkpointId: checkpoint.id,
        type,
        checkpoint: checkpointBytes,
        metadata: metadataBytes,
        blobRefs,
      },
      blobs,
    };
  };
  // Plain JSON data serializes at once (`dumpsEach`): no promise for the usual put.
  const dumped = dumpsEach(serde, [
    withoutValues,
    metadata,
    ...present.map((channel) => (values as Record<string, unknown>)[channel]),
  ]);
  return isPending(dumped) ? dumped.then(finish) : finish(dumped);
}

/**
 * Whether a put carries the same checkpoint as the stored one with its id: the same metadata, the same checkpoint
 * apart from its `ts` (a re-put stamps a new one), and the same value for every channel either stores. Compared as
 * serialized (JSON with its keys sorted), so that what the serializer tells apart (a Map, bytes) stays apart.
 */
export async function samePut(
  serde: SerializerProtocol,
  stored: LoadedCheckpoint,
  put: SerializedPut,
  checkpoint: Checkpoint,
): Promise<boolean> {
  const storedCheckpoint = (await decode(serde, [{ type: stored.type, value: stored.checkpoint }]))[0] as Checkpoint;
  const canonical = (type: string, bytes: Uint8Array) => canonicalOf(serde, type, bytes);
  const [type, restamped] = await serde.dumpsTyped({ ...storedCheckpoint, ts: checkpoint.ts });
  if (canonical(type, restamped) !== canonical(put.row.type, put.row.checkpoint)) return false;
  if (canonical(stored.type, stored.metadata) !== canonical(put.row.type, put.row.metadata)) return false;
  const storedValues = new Map(
    stored.blobs.filter((b) => b.type !== EMPTY).map((b) => [b.channel, canonical(b.type, b.value)]),
  );
  const values = checkpoint.channel_values as Record<string, unknown>;
  const channels = new Set(
    [...put.blobs.map((b) => b.channel), ...Object.keys(put.row.blobRefs)].filter((c) => Object.hasOwn(values, c)),
  );
  if (channels.size !== storedValues.size) return false;
  for (const channel of channels) {
    const [valueType, value] = await serde.dumpsTyped(values[channel]);
    if (storedValues.get(channel) !== canonical(valueType, value)) return false;
  }
  return true;
}

/** The channel versions of a stored checkpoint (its row holds them; values are elsewhere). */
export async function storedChannelVersions(
  serde: SerializerProtocol,
  loaded: LoadedCheckpoint,
): Promise<ChannelVersions> {
  const [checkpoint] = (await decode(serde, [{ type: loaded.type, value: loaded.checkpoint }])) as [Checkpoint];
  return checkpoint.channel_versions;
}

/**
 * A serialized piece in a form that compares equal exactly when the pieces are: JSON with sorted keys, else bytes.
 * An encrypted piece is compared by what it encrypts: the same value never encrypts to the same bytes twice.
 */
function canonicalOf(serde: SerializerProtocol, storedType: string, storedBytes: Uint8Array): string {
  const [type, plain] =
    serde instanceof EncryptedSerializer ? serde.decrypt(storedType, storedBytes) : [storedType, storedBytes];
  const bytes = typeof plain === "string" ? Buffer.from(plain, "utf8") : plain;
  if (type !== "json") return `${type}:${Buffer.from(bytes).toString("base64")}`;
  const sorted = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(sorted);
    if (value === null || typeof value !== "object") return value;
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sorted((value as Record<string, unknown>)[k])]),
    );
  };
  return `json:${JSON.stringify(sorted(JSON.parse(utf8(bytes))))}`;
}

/** The complete row once its commit's head version is known: own blobs are referred to at that version. */
export function withOwnRefs(put: SerializedPut, headVersion: number): CheckpointRow {
  const blobRefs = { ...put.row.blobRefs };
  for (const b of put.blobs) blobRefs[b.channel] = { checkpointId: put.row.checkpointId, headVersion };
  return { ...put.row, headVersion, blobRefs };
}

export async function serializeWrites(
  serde: SerializerProtocol,
  writes: PendingWrite[],
  taskId: string,
  taskPath: string,
): Promise<CheckpointWrite[]> {
  const bytes = await dumpsEach(
    serde,
    writes.map(([, value]) => value),
  );
  return writes.map(([channel], i) => ({
    taskId,
    idx: WRITES_IDX_MAP[channel] ?? i,
    channel,
    type: bytes[i]![0],
    value: bytes[i]![1],
    taskPath,
  }));
}

/**
 * `serde.dumpsTyped` of each value, in order, with bytes the caller owns: without the serializer for plain JSON data
 * (`dumpsPlain`).
 */
function dumpsEach(serde: SerializerProtocol, values: unknown[]): Awaitable<[string, Uint8Array][]> {
  const plain = values.map((value) => dumpsPlain(serde, value));
  if (plain.every((d) => d !== undefined)) return plain as [string, Uint8Array][];
  return Promise.all(
    values.map(
      (value, i) =>
        plain[i] ?? serde.dumpsTyped(value).then(([type, bytes]): [string, Uint8Array] => [type, owned(bytes)]),
    ),
  );
}

/**
 * Bytes the stored row owns. JsonPlusSerializer returns a Uint8Array value itself as its serialization ("bytes"):
 * keeping the caller's array would let a later change to it rewrite a stored checkpoint.
 */
function owned(bytes: Uint8Array): Uint8Array {
  // A memcpy (`Uint8Array.from` copies element by element through the iterator: ~10× slower on a 1 KB value).
  return bytes instanceof Uint8Array ? new Uint8Array(bytes) : bytes;
}

/** Rebuilds the tuple LangGraph expects from a loaded row. `parentWrites` feeds the v < 4 pending-sends migration. */
export async function toTuple(
  serde: SerializerProtocol,
  loaded: LoadedCheckpoint,
  loadParentWrites: () => Promise<CheckpointWrite[]>,
): Promise<CheckpointTuple> {
  const present = loaded.blobs.filter((b) => b.type !== EMPTY);
  const pieces: { type: string; value: Uint8Array }[] = [
    { type: loaded.type, value: loaded.checkpoint },
    { type: loaded.type, value: loaded.metadata },
    ...present,
    ...loaded.writes,
  ];
  const [checkpoint, metadata, ...rest] = (await decode(serde, pieces)) as [
    Checkpoint,
    CheckpointMetadata,
    ...unknown[],
  ];
  const values: Record<string, unknown> = {};
  present.forEach((b, i) => {
    values[b.channel] = rest[i];
  });
  checkpoint.channel_values = values;
  const pendingWrites = loaded.writes.map(
    (w, i): CheckpointPendingWrite => [w.taskId, w.channel, rest[present.length + i]],
  );
  if (checkpoint.v < 4 && loaded.parentId !== null)
    await migratePendingSends(serde, checkpoint, await loadParentWrites());
  const configurable = { thread_id: loaded.threadId, checkpoint_ns: loaded.ns };
  const tuple: CheckpointTuple = {
    config: { configurable: { ...configurable, checkpoint_id: loaded.checkpointId } },
    checkpoint,
    metadata,
    pendingWrites,
  };
  if (loaded.parentId !== null)
    tuple.parentConfig = { configurable: { ...configurable, checkpoint_id: loaded.parentId } };
  return tuple;
}

/**
 * Deserializes stored pieces. With LangGraph's own JsonPlusSerializer and only JSON pieces, they are read as one JSON
 * array in one call: it revives each element exactly as it would alone, minus the per-call cost. Anything else goes
 * through the serializer piece by piece.
 */
function decode(serde: SerializerProtocol, pieces: { type: string; value: Uint8Array }[]): Promise<unknown[]> {
  if (isJsonPlus(serde) && pieces.every((p) => p.type === "json")) {
    let text = "[";
    for (const [i, p] of pieces.entries()) text += (i === 0 ? "" : ",") + utf8(p.value);
    return loadsJson(serde, `${text}]`) as Promise<unknown[]>;
  }
  // Non-JSON bytes are copied into a plain Uint8Array: what the caller stored, not a view of a storage buffer.
  return Promise.all(
    pieces.map((p) => serde.loadsTyped(p.type, p.type === "json" ? utf8(p.value) : new Uint8Array(p.value))),
  );
}

/**
 * JSON text of stored bytes. Serializers accept text for "json" payloads. One decoder for all (a serializer creates
 * one per value); it keeps a leading U+FEFF as Buffer's decoder does (`ignoreBOM`), and is ~2× cheaper than wrapping
 * each piece in a Buffer to decode it.
 */
function utf8(bytes: Uint8Array): string {
  return UTF8.decode(bytes);
}

const UTF8 = new TextDecoder("utf-8", { ignoreBOM: true });

/** Checkpoints before format v4 kept pending `Send`s as the parent's TASKS writes; v4 keeps them in TASKS. */
async function migratePendingSends(serde: SerializerProtocol, checkpoint: Checkpoint, parentWrites: CheckpointWrite[]) {
  const sends = await Promise.all(
    parentWrites.filter((w) => w.channel === TASKS).map((w) => serde.loadsTyped(w.type, w.value)),
  );
  checkpoint.channel_values[TASKS] = sends;
  const versions = Object.values(checkpoint.channel_versions);
  checkpoint.channel_versions[TASKS] = versions.length > 0 ? maxChannelVersion(...versions) : 1;
}

/**
 * The backends' metadata filter (`CheckpointQuery.metadata`) applied to a decoded checkpoint's metadata: every key
 * present with the same JSON. For metadata the database cannot read (encrypted).
 */
export function metadataMatches(metadata: CheckpointMetadata | undefined, filter: Record<string, unknown>): boolean {
  const m = (metadata ?? {}) as Record<string, unknown>;
  return Object.entries(filter).every(([k, v]) => Object.hasOwn(m, k) && JSON.stringify(m[k]) === JSON.stringify(v));
}

/** The three identifying keys of a checkpoint config. */
export function checkpointConfig(threadId: string, ns: string, checkpointId: string): RunnableConfig {
  return { configurable: { thread_id: threadId, checkpoint_ns: ns, checkpoint_id: checkpointId } };
}
