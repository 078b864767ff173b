/**
 * Import from the official savers (docs/import.md): every thread, namespace, checkpoint, channel value and pending
 * write of a SqliteSaver file, a PostgresSaver schema or any other `BaseCheckpointSaver`, copied into a fenced store
 * through the saver's own put path, parents before children, so each put is a fenced commit of its lineage's head.
 * The source is read only through its public API (`list`, `getTuple`).
 */
import type { RunnableConfig } from "@langchain/core/runnables";
import type {
  BaseCheckpointSaver,
  CheckpointMetadata,
  CheckpointPendingWrite,
  CheckpointTuple,
  PendingWrite,
} from "@langchain/langgraph-checkpoint";
import { WRITES_IDX_MAP } from "@langchain/langgraph-checkpoint";
import { InvalidInputError } from "../core/errors.js";
import { FENCED_CONFIG_KEYS } from "./config.js";
import { FencedCheckpointSaver } from "./saver.js";

/** How many of each kind: in the source, copied by this run, or found in the target after it. */
export interface ImportCounts {
  threads: number;
  /** (thread, checkpoint namespace) pairs: a thread's root graph and each subgraph it ran. */
  namespaces: number;
  checkpoints: number;
  /** Pending writes (a task's channel writes, interrupts, resumes, errors) attached to checkpoints. */
  writes: number;
}

export interface ImportResult {
  /** What the source holds. */
  source: ImportCounts;
  /** What this run copied; all zero when the target already had everything (a second run). */
  copied: Pick<ImportCounts, "checkpoints" | "writes">;
  /**
   * What the target holds of the source's, read back after the copy; `heads` counts the lineages whose head is the
   * source's latest checkpoint. Equal to `source` (and `heads` to `source.namespaces`) when everything landed.
   */
  verified: ImportCounts & { heads: number };
}

export interface ImportCheckpointsOptions {
  /**
   * The saver to read: an instance (any `BaseCheckpointSaver`: SqliteSaver, PostgresSaver, MemorySaver, another
   * fenced saver), `"sqlite:PATH"` (an official SqliteSaver file, opened read-only) or `"postgres:URL"` (an official
   * PostgresSaver schema, see `fromSchema`).
   */
  from: BaseCheckpointSaver | string;
  /** The fenced saver to write into: its store, key prefix and serializer (e.g. an `EncryptedSerializer`). */
  to: FencedCheckpointSaver;
  /** The PostgresSaver schema for `"postgres:URL"`; default `"public"`, as PostgresSaver's. */
  fromSchema?: string;
}

/**
 * Copies every checkpoint of `from` into `to`, lineage by lineage, parents first, each through the fenced put (a
 * commit of the lineage's head); the head of each lineage ends at the source's latest checkpoint. Checkpoints and
 * writes the target already has are skipped, so a second run copies nothing and changes nothing. A put into a thread
 * a run holds is `FENCED`, like any other write.
 *
 * @example
 * ```ts
 * import { FencedCheckpointSaver, importCheckpoints } from "fenced-state/langgraph";
 * const to = await FencedCheckpointSaver.open({ path: "./.fenced/state.db" });
 * const { source, copied, verified } = await importCheckpoints({ from: "sqlite:./checkpoints.db", to });
 * console.log(source.checkpoints, copied.checkpoints, verified.checkpoints);
 * ```
 */
export async function importCheckpoints(options: ImportCheckpointsOptions): Promise<ImportResult> {
  const { saver: source, close } = await openSource(options.from, options.fromSchema);
  try {
    return await copyAll(source, options.to);
  } finally {
    await close();
  }
}

/** One (thread, namespace) lineage of the source: checkpoint id → parent id. */
interface Lineage {
  threadId: string;
  ns: string;
  parents: Map<string, string | null>;
}

async function copyAll(source: BaseCheckpointSaver, to: FencedCheckpointSaver): Promise<ImportResult> {
  const lineages = await sourceLineages(source);
  // Puts go through a saver on the same store that takes a lineage's second root as a fork, as the source did; every
  // other put names its parent as an explicit fork point, so the source's branches land as they are.
  const target = new FencedCheckpointSaver(to.store, {
    keyPrefix: to.keyPrefix,
    serde: to.serde,
    parentlessPut: "fork",
  });
  const counts: ImportCounts = {
    threads: new Set([...lineages].map((l) => l.threadId)).size,
    namespaces: lineages.length,
    checkpoints: 0,
    writes: 0,
  };
  const copied = { checkpoints: 0, writes: 0 };
  for (const lineage of lineages) {
    for (const checkpointId of lineageOrder(lineage)) {
      const config = refConfig(lineage, checkpointId);
      const tuple = await source.getTuple(config);
      if (!tuple) continue; // deleted from the source meanwhile
      counts.checkpoints++;
      counts.writes += tuple.pendingWrites?.length ?? 0;
      const existing = await target.getTuple(config);
      if (!existing) {
        const parentId = lineage.parents.get(checkpointId) ?? null;
        await target.put(
          putConfig(lineage, parentId),
          tuple.checkpoint,
          tuple.metadata ?? ({} as CheckpointMetadata),
          parentId === null ? { ...tuple.checkpoint.channel_versions } : {},
        );
        copied.checkpoints++;
      }
      copied.writes += await copyWrites(target, config, tuple, existing);
    }
  }
  return { source: counts, copied, verified: await verify(source, target, lineages) };
}

/** Every lineage of the source with its checkpoints' parents, from one pass over `list` (values are not kept). */
async function sourceLineages(source: BaseCheckpointSaver): Promise<Lineage[]> {
  const lineages = new Map<string, Lineage>();
  for await (const t of source.list({})) {
    const c = t.config.configurable ?? {};
    const threadId = String(c.thread_id);
    const ns = typeof c.checkpoint_ns === "string" ? c.checkpoint_ns : "";
    const key = JSON.stringify([threadId, ns]);
    let lineage = lineages.get(key);
    if (!lineage) lineages.set(key, (lineage = { threadId, ns, parents: new Map() }));
    const parentId: unknown = t.parentConfig?.configurable?.checkpoint_id;
    lineage.parents.set(String(c.checkpoint_id), typeof parentId === "string" && parentId !== "" ? parentId : null);
  }
  return [...lineages.values()];
}

/**
 * The lineage's checkpoint ids, each after its parent, otherwise oldest first (ids are time-ordered uuid6): the last
 * one put, which becomes the head, is the latest. A parent the source does not have is `INVALID_INPUT`.
 */
function lineageOrder(lineage: Lineage): string[] {
  const order: string[] = [];
  const placed = new Set<string>();
  for (const id of [...lineage.parents.keys()].sort()) {
    // The unplaced ancestors of `id`, nearest first; placed from the oldest down (no recursion: chains can be long).
    const chain: string[] = [];
    const inChain = new Set<string>();
    for (let at: string | null = id; at !== null && !placed.has(at); at = lineage.parents.get(at) ?? null) {
      const child = chain[chain.length - 1] ?? at;
      if (!lineage.parents.has(at))
        throw inconsistent(lineage, child, `names parent ${at}, which the source does not have`);
      if (inChain.has(at)) throw inconsistent(lineage, child, `is its own ancestor (the parent links form a cycle)`);
      chain.push(at);
      inChain.add(at);
    }
    for (const at of chain.reverse()) {
      placed.add(at);
      order.push(at);
    }
  }
  return order;
}

function inconsistent(lineage: Lineage, checkpointId: string, what: string): InvalidInputError {
  const where =
    lineage.ns === "" ? `thread "${lineage.threadId}"` : `thread "${lineage.threadId}" namespace "${lineage.ns}"`;
  return new InvalidInputError({
    issues: [
      {
        path: ["from", lineage.threadId, lineage.ns, checkpointId],
        message: `${where}: checkpoint ${checkpointId} ${what}`,
      },
    ],
  });
}

/**
 * Copies the pending writes of one checkpoint that the target lacks, task by task: regular writes in one call (so
 * their indexes are the source's), special writes (interrupt, resume, error…) in another. Returns how many it wrote.
 */
async function copyWrites(
  target: FencedCheckpointSaver,
  config: RunnableConfig,
  tuple: CheckpointTuple,
  existing: CheckpointTuple | undefined,
) {
  const have = countByTask(existing?.pendingWrites ?? []);
  let written = 0;
  for (const [taskId, writes] of groupByTask(tuple.pendingWrites ?? [])) {
    if ((have.get(taskId) ?? 0) >= writes.length) continue;
    const regular = writes.filter(([channel]) => !(channel in WRITES_IDX_MAP));
    const special = writes.filter(([channel]) => channel in WRITES_IDX_MAP);
    if (regular.length > 0) await target.putWrites(config, regular, taskId);
    if (special.length > 0) await target.putWrites(config, special, taskId);
    written += writes.length - (have.get(taskId) ?? 0);
  }
  return written;
}

/** Reads back what the target holds of the source's checkpoints, and whether each lineage's head is the latest. */
async function verify(
  source: BaseCheckpointSaver,
  target: FencedCheckpointSaver,
  lineages: Lineage[],
): Promise<ImportResult["verified"]> {
  const verified = { threads: 0, namespaces: 0, checkpoints: 0, writes: 0, heads: 0 };
  const threads = new Set<string>();
  for (const lineage of lineages) {
    let complete = true;
    for (const checkpointId of lineage.parents.keys()) {
      const [theirs, ours] = await Promise.all([
        source.getTuple(refConfig(lineage, checkpointId)),
        target.getTuple(refConfig(lineage, checkpointId)),
      ]);
      if (!theirs) continue;
      if (!ours) {
        complete = false;
        continue;
      }
      verified.checkpoints++;
      const have = countByTask(ours.pendingWrites ?? []);
      for (const [taskId, writes] of groupByTask(theirs.pendingWrites ?? []))
        verified.writes += Math.min(writes.length, have.get(taskId) ?? 0);
    }
    if (complete) {
      verified.namespaces++;
      threads.add(lineage.threadId);
    }
    const latest = { configurable: { thread_id: lineage.threadId, checkpoint_ns: lineage.ns } };
    const [theirs, ours] = await Promise.all([source.getTuple(latest), target.getTuple(latest)]);
    if (theirs && ours?.checkpoint.id === theirs.checkpoint.id) verified.heads++;
  }
  verified.threads = threads.size;
  return verified;
}

function refConfig(lineage: Lineage, checkpointId: string): RunnableConfig {
  return { configurable: { thread_id: lineage.threadId, checkpoint_ns: lineage.ns, checkpoint_id: checkpointId } };
}

function putConfig(lineage: Lineage, parentId: string | null): RunnableConfig {
  const configurable: Record<string, unknown> = { thread_id: lineage.threadId, checkpoint_ns: lineage.ns };
  if (parentId !== null)
    Object.assign(configurable, { checkpoint_id: parentId, [FENCED_CONFIG_KEYS.forkFrom]: [parentId] });
  return { configurable };
}

function groupByTask(writes: CheckpointPendingWrite[]): Map<string, PendingWrite[]> {
  const byTask = new Map<string, PendingWrite[]>();
  for (const [taskId, channel, value] of writes) {
    let list = byTask.get(taskId);
    if (!list) byTask.set(taskId, (list = []));
    list.push([channel, value]);
  }
  return byTask;
}

function countByTask(writes: CheckpointPendingWrite[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const [taskId] of writes) counts.set(taskId, (counts.get(taskId) ?? 0) + 1);
  return counts;
}

/** The source saver a `from` names, and how to close what was opened for it. */
async function openSource(
  from: BaseCheckpointSaver | string,
  schema = "public",
): Promise<{ saver: BaseCheckpointSaver; close(): Promise<void> }> {
  if (typeof from !== "string") return { saver: from, close: async () => {} };
  if (from.startsWith("sqlite:")) {
    const { openSqliteSaver } = await import("./import-sources.js");
    return openSqliteSaver(from.slice("sqlite:".length));
  }
  const url = from.startsWith("postgres:") && !from.startsWith("postgres://") ? from.slice("postgres:".length) : from;
  if (/^postgres(ql)?:\/\//.test(url)) {
    const { openPostgresSaver } = await import("./import-sources.js");
    return openPostgresSaver(url, schema);
  }
  throw new InvalidInputError({
    issues: [
      {
        path: ["from"],
        message: `expected "sqlite:PATH" (an official SqliteSaver file) or "postgres:URL" (an official PostgresSaver schema), got "${from}"`,
      },
    ],
  });
}
