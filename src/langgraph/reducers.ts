/**
 * Fenced reducers for state shared by parallel branches and `Send` workers: a per-field versioned map. LangGraph
 * applies a superstep's writes to a channel through its reducer in task order; a plain merge reducer keeps the last
 * and drops the rest without a word. Here every field carries a version: commutative ops (increment, append, merge
 * patch) from any number of branches all land, and two branches that `set` one field from the same base raise
 * `VersionConflictError` naming both tasks, unless a merge function for that field resolves them (G1, G6). A deleted
 * field keeps its version, as a core key does, so a writer holding a snapshot from before the delete still conflicts;
 * one task's own ops on a field compose in order.
 */
import { Annotation, getConfig } from "@langchain/langgraph";
import { withLangGraph } from "@langchain/langgraph/zod";
import { z } from "zod";
import { versionMismatch } from "../core/commit.js";
import { InvalidInputError, VersionConflictError } from "../core/errors.js";
import type { Json } from "../core/json.js";
import { applyOp } from "../core/ops.js";
import type { Op } from "../core/schemas.js";

/** The fields of a fenced map: JSON values by name. */
export type FieldValues = { [field: string]: Json };

/** One field: its value, how many times it changed, and the task that changed it last. */
export interface FencedField<V extends Json = Json> {
  value: V;
  version: number;
  /** `"<node>:<task id>"` of the last writer. */
  by: string;
}

/**
 * A deleted field (a tombstone): it keeps its version, so numbering continues when the field is set again and a
 * writer that read the field before the delete conflicts instead of matching a re-created field (no ABA).
 */
export interface DeletedField {
  deleted: true;
  value?: undefined;
  version: number;
  /** `"<node>:<task id>"` of the task that deleted it. */
  by: string;
}

/**
 * The channel value: each field with its version; a deleted field is a {@link DeletedField}. Read a field with
 * `state.doc.title?.value` (`undefined` when missing or deleted), or all of them with `valuesOf`.
 */
export type FencedMap<T extends FieldValues = FieldValues> = { [K in keyof T]?: FencedField<T[K]> | DeletedField };

/** One change to one field. `set` and `delete` name the version they were computed from. */
export type FieldOp =
  | { field: string; type: "set"; value: Json; expectVersion: number }
  | { field: string; type: "delete"; expectVersion: number }
  | { field: string; type: "increment"; by: number }
  | { field: string; type: "append"; items: Json[] }
  | { field: string; type: "merge"; patch: { [key: string]: Json } };

/** What a node returns for a fenced map channel: its changes, and who made them. Plain data (it is checkpointed). */
export interface FencedMapUpdate {
  by: string;
  ops: FieldOp[];
}

/** How a field resolves two writers that set it from the same base, instead of a `VersionConflictError`. */
export type FieldMerge = (
  current: Json | undefined,
  proposed: Json | undefined,
  conflict: FieldConflict,
) => Json | undefined;

export interface FieldConflict {
  field: string;
  /** The version the losing writer read, and the one it found. */
  expectedVersion: number;
  actualVersion: number;
  /** Who wrote the current value, and who proposes the new one. */
  currentBy: string;
  proposedBy: string;
}

export interface FencedMapOptions<T extends FieldValues> {
  /** Per-field merge functions; a field without one raises `VersionConflictError` on a conflicting set. */
  merge?: { [K in keyof T]?: FieldMerge };
}

/**
 * Changes to a fenced map, made from the version a node read. The builder is itself the update, so a node returns it:
 * `return { doc: edit(state.doc).set("title", "Draft 2").increment("revisions") }`.
 */
export class FencedEdits<T extends FieldValues = FieldValues> implements FencedMapUpdate {
  readonly ops: FieldOp[] = [];

  constructor(
    private readonly base: FencedMap<T> | undefined,
    readonly by: string,
  ) {
    // Only `by` and `ops` are data; `base` must not be checkpointed with the update.
    Object.defineProperty(this, "base", { enumerable: false });
  }

  /** Replaces a field; conflicts if another writer changed it since `state` was read. */
  set<K extends keyof T & string>(field: K, value: T[K]): this {
    this.ops.push({ field, type: "set", value, expectVersion: this.versionOf(field) });
    return this;
  }

  /** Removes a field; conflicts like `set`. */
  delete<K extends keyof T & string>(field: K): this {
    this.ops.push({ field, type: "delete", expectVersion: this.versionOf(field) });
    return this;
  }

  /** Adds to a number field (missing counts as 0); never conflicts with other commutative ops. */
  increment<K extends keyof T & string>(field: K, by = 1): this {
    this.ops.push({ field, type: "increment", by });
    return this;
  }

  /** Appends to an array field (missing counts as `[]`); never conflicts with other commutative ops. */
  append<K extends keyof T & string>(field: K, ...items: Json[]): this {
    this.ops.push({ field, type: "append", items });
    return this;
  }

  /** Applies a JSON Merge Patch to an object field: writers patching disjoint keys never conflict. */
  merge<K extends keyof T & string>(field: K, patch: { [key: string]: Json }): this {
    this.ops.push({ field, type: "merge", patch });
    return this;
  }

  private versionOf(field: string): number {
    return this.base?.[field]?.version ?? 0;
  }
}

/**
 * Starts an update of `state` (the fenced map a node read). The writer is the current LangGraph task
 * (`"<node>:<task id>"`), or `by` when given.
 */
export function edit<T extends FieldValues>(state: FencedMap<T> | undefined, by?: string): FencedEdits<T> {
  return new FencedEdits<T>(state, by ?? currentTask());
}

/** The plain values of a fenced map. */
export function valuesOf<T extends FieldValues>(map: FencedMap<T> | undefined): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, f] of Object.entries(map ?? {}) as [keyof T, FencedField<T[keyof T]> | DeletedField | undefined][]) {
    if (f && !isDeleted(f)) out[k] = f.value;
  }
  return out;
}

/**
 * The reducer: applies one update's ops in order; throws `VersionConflictError` on an unresolved conflicting set or
 * delete. An update is one task's: its ops on a field compose in order (`set` then `set` keeps the second), and each
 * `set`/`delete` is checked against the version the field had before this update, the one the task read.
 */
export function fencedMapReducer<T extends FieldValues>(options: FencedMapOptions<T> = {}) {
  return (current: FencedMap<T>, update: FencedMapUpdate): FencedMap<T> => {
    if (!isUpdate(update)) {
      throw new InvalidInputError({
        issues: [{ path: [], message: "a fenced map is updated with edit(state.field)…, not a plain value" }],
      });
    }
    const next: FencedMap = { ...current };
    const before = new Map<string, FencedField | DeletedField | undefined>();
    for (const o of update.ops) {
      const field = next[o.field];
      if (!before.has(o.field)) before.set(o.field, field);
      const read = before.get(o.field);
      const version = field?.version ?? 0;
      const value = field && !isDeleted(field) ? field.value : undefined;
      let result: Json | undefined;
      if ((o.type === "set" || o.type === "delete") && versionMismatch(o.expectVersion, read?.version ?? 0)) {
        const conflict: FieldConflict = {
          field: o.field,
          expectedVersion: o.expectVersion,
          actualVersion: read?.version ?? 0,
          currentBy: read?.by ?? "(nobody)",
          proposedBy: update.by,
        };
        const merge = options.merge?.[o.field];
        if (!merge) throw fieldConflict(conflict);
        result = merge(value, o.type === "set" ? o.value : undefined, conflict);
      } else {
        const applied = applyOp(value, toCoreOp(o));
        if ("issue" in applied) throw new InvalidInputError({ issues: [{ ...applied.issue, path: [o.field] }] });
        result = applied.exists ? applied.value : undefined;
      }
      // Every change bumps the version, a delete too: the tombstone keeps numbering going (no ABA).
      next[o.field] =
        result === undefined
          ? { deleted: true, version: version + 1, by: update.by }
          : { value: result, version: version + 1, by: update.by };
    }
    return next as FencedMap<T>;
  };
}

/**
 * A fenced map channel for `Annotation.Root`.
 *
 * @example
 * ```ts
 * const State = Annotation.Root({ doc: fencedMapAnnotation<{ title: string; tags: string[] }>() });
 * ```
 */
export function fencedMapAnnotation<T extends FieldValues>(options: FencedMapOptions<T> = {}) {
  return Annotation<FencedMap<T>, FencedMapUpdate>({ reducer: fencedMapReducer(options), default: () => ({}) });
}

/**
 * A fenced map field for zod state schemas (`new StateGraph(z.object({ doc: fencedMapSchema<Doc>() }))`).
 */
export function fencedMapSchema<T extends FieldValues>(options: FencedMapOptions<T> = {}) {
  return withLangGraph(
    z.custom<FencedMap<T>>((v) => typeof v === "object" && v !== null),
    {
      reducer: { fn: fencedMapReducer(options), schema: FencedMapUpdateSchema },
      default: () => ({}),
    },
  );
}

const FieldName = z.string();
/** The wire shape of an update (what `edit(...)` produces). */
export const FencedMapUpdateSchema = z.object({
  by: z.string(),
  ops: z.array(
    z.discriminatedUnion("type", [
      z.object({
        field: FieldName,
        type: z.literal("set"),
        value: z.custom<Json>(),
        expectVersion: z.number().int().min(0),
      }),
      z.object({ field: FieldName, type: z.literal("delete"), expectVersion: z.number().int().min(0) }),
      z.object({ field: FieldName, type: z.literal("increment"), by: z.number() }),
      z.object({ field: FieldName, type: z.literal("append"), items: z.array(z.custom<Json>()) }),
      z.object({ field: FieldName, type: z.literal("merge"), patch: z.record(z.string(), z.custom<Json>()) }),
    ]),
  ),
});

function toCoreOp(o: FieldOp): Op {
  switch (o.type) {
    case "set":
      return { type: "set", value: o.value };
    case "delete":
      return { type: "delete" };
    case "increment":
      return { type: "increment", by: o.by };
    case "append":
      return { type: "append", items: o.items };
    case "merge":
      return { type: "merge", patch: o.patch };
  }
}

function fieldConflict(c: FieldConflict): VersionConflictError {
  return new VersionConflictError(
    {
      key: c.field,
      expectedVersion: c.expectedVersion,
      actualVersion: c.actualVersion,
      tasks: [c.currentBy, c.proposedBy],
    },
    `field "${c.field}": ${c.proposedBy} set it from version ${c.expectedVersion}, but ${c.currentBy} changed it ` +
      `first (now version ${c.actualVersion}); one change would be lost. Use a commutative op (increment, append, ` +
      "merge) or give the field a merge function.",
  );
}

function isDeleted(f: FencedField | DeletedField): f is DeletedField {
  return (f as DeletedField).deleted === true;
}

function isUpdate(u: unknown): u is FencedMapUpdate {
  return (
    typeof u === "object" &&
    u !== null &&
    typeof (u as FencedMapUpdate).by === "string" &&
    Array.isArray((u as FencedMapUpdate).ops)
  );
}

function currentTask(): string {
  try {
    const c = getConfig();
    const node = c.metadata?.langgraph_node;
    const task = c.configurable?.__pregel_task_id;
    if (typeof node === "string" && typeof task === "string") return `${node}:${task}`;
  } catch {
    // Outside a LangGraph run: no task to name.
  }
  return "(outside a task)";
}
