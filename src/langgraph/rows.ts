/**
 * Checkpoints ↔ stored rows. A checkpoint row holds the checkpoint without its channel values. A value is stored once,
 * as a blob of the checkpoint whose put had the channel in `newVersions`; later checkpoints refer to it by
 * (channel → that checkpoint's id) until the channel changes again. Refs, unlike (channel, version) keys, cannot
 * collide when two branches of a forked thread both reach version n of a channel. Serialization happens here,
 * outside the commit's transaction.
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
import type { CheckpointBlob, CheckpointRow, CheckpointWrite, LoadedCheckpoint } from "../core/backend.js";
import { InvalidInputError } from "../core/errors.js";

/** Marks a channel in `newVersions` that has no value (it was cleared): the blob says "absent", not "unknown". */
const EMPTY = "empty";
const NO_BYTES = new Uint8Array(0);

/** A put's serialized parts; `headVersion` is filled in by the commit that lands it. */
export interface SerializedPut {
  row: Omit<CheckpointRow, "headVersion">;
  blobs: CheckpointBlob[];
}

/**
 * Serializes a put. `parentRefs` are the parent's blob refs: channels not in `newVersions` keep their parent's
 * value.
 */
export async function serializePut(
  serde: SerializerProtocol,
  ref: { threadId: string; ns: string; parentId: string | null },
  checkpoint: Checkpoint,
  metadata: CheckpointMetadata,
  newVersions: ChannelVersions,
  parentRefs: Record<string, string> | undefined,
): Promise<SerializedPut> {
  const { channel_values: values, ...withoutValues } = checkpoint;
  const [[type, checkpointBytes], [metadataType, metadataBytes]] = await Promise.all([
    serde.dumpsTyped(withoutValues),
    serde.dumpsTyped(metadata),
  ]);
  if (type !== metadataType) {
    throw new InvalidInputError({ issues: [{ path: ["metadata"], message: `serialized as ${metadataType}, checkpoint as ${type}` }] });
  }
  const written = Object.keys(newVersions);
  const blobs = await Promise.all(
    written.map(async (channel): Promise<CheckpointBlob> => {
      if (!Object.hasOwn(values, channel)) return { channel, type: EMPTY, value: NO_BYTES };
      const [blobType, value] = await serde.dumpsTyped((values as Record<string, unknown>)[channel]);
      return { channel, type: blobType, value };
    }),
  );
  const blobRefs: Record<string, string> = {};
  for (const channel of Object.keys(checkpoint.channel_versions)) {
    const inherited = parentRefs?.[channel];
    if (inherited !== undefined) blobRefs[channel] = inherited;
  }
  for (const channel of written) blobRefs[channel] = checkpoint.id;
  return {
    row: { ...ref, checkpointId: checkpoint.id, type, checkpoint: checkpointBytes, metadata: metadataBytes, blobRefs },
    blobs,
  };
}

export async function serializeWrites(
  serde: SerializerProtocol,
  writes: PendingWrite[],
  taskId: string,
  taskPath: string,
): Promise<CheckpointWrite[]> {
  return Promise.all(
    writes.map(async ([channel, value], i): Promise<CheckpointWrite> => {
      const [type, bytes] = await serde.dumpsTyped(value);
      return { taskId, idx: WRITES_IDX_MAP[channel] ?? i, channel, type, value: bytes, taskPath };
    }),
  );
}

/** Rebuilds the tuple LangGraph expects from a loaded row. `parentWrites` feeds the v < 4 pending-sends migration. */
export async function toTuple(
  serde: SerializerProtocol,
  loaded: LoadedCheckpoint,
  loadParentWrites: () => Promise<CheckpointWrite[]>,
): Promise<CheckpointTuple> {
  const load = (type: string, bytes: Uint8Array) => serde.loadsTyped(type, type === "json" ? utf8(bytes) : bytes);
  const [checkpoint, metadata, pendingWrites] = await Promise.all([
    load(loaded.type, loaded.checkpoint) as Promise<Checkpoint>,
    load(loaded.type, loaded.metadata) as Promise<CheckpointMetadata>,
    Promise.all(loaded.writes.map(async (w): Promise<CheckpointPendingWrite> => [w.taskId, w.channel, await load(w.type, w.value)])),
  ]);
  const present = loaded.blobs.filter((b) => b.type !== EMPTY);
  const decoded = await Promise.all(present.map((b) => load(b.type, b.value)));
  const values: Record<string, unknown> = {};
  present.forEach((b, i) => (values[b.channel] = decoded[i]));
  checkpoint.channel_values = values;
  if (checkpoint.v < 4 && loaded.parentId !== null) await migratePendingSends(serde, checkpoint, await loadParentWrites());
  const configurable = { thread_id: loaded.threadId, checkpoint_ns: loaded.ns };
  const tuple: CheckpointTuple = {
    config: { configurable: { ...configurable, checkpoint_id: loaded.checkpointId } },
    checkpoint,
    metadata,
    pendingWrites,
  };
  if (loaded.parentId !== null) tuple.parentConfig = { configurable: { ...configurable, checkpoint_id: loaded.parentId } };
  return tuple;
}

/**
 * JSON text of stored bytes. Serializers accept text for "json" payloads, and Buffer's decoder is cheaper than the
 * TextDecoder a serializer would create for each value.
 */
function utf8(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
}

/** Checkpoints before format v4 kept pending `Send`s as the parent's TASKS writes; v4 keeps them in TASKS. */
async function migratePendingSends(serde: SerializerProtocol, checkpoint: Checkpoint, parentWrites: CheckpointWrite[]) {
  const sends = await Promise.all(parentWrites.filter((w) => w.channel === TASKS).map((w) => serde.loadsTyped(w.type, w.value)));
  checkpoint.channel_values[TASKS] = sends;
  const versions = Object.values(checkpoint.channel_versions);
  checkpoint.channel_versions[TASKS] = versions.length > 0 ? maxChannelVersion(...versions) : 1;
}

/** The three identifying keys of a checkpoint config. */
export function checkpointConfig(threadId: string, ns: string, checkpointId: string): RunnableConfig {
  return { configurable: { thread_id: threadId, checkpoint_ns: ns, checkpoint_id: checkpointId } };
}
