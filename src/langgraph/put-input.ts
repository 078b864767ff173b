/**
 * The checks `put` and `putWrites` make on LangGraph's arguments before anything is written: the shapes the saver
 * relies on. LangGraph always sends them; garbage gets `INVALID_INPUT`. zod (the schemas below) defines them and words
 * every error; `acceptsPutInput` and `acceptsPutWritesInput` recognise the common well-formed calls without it (a put's
 * zod parse cost ~25 µs inside a running graph, measured), and never accept what zod refuses
 * (test/langgraph/put-input.test.ts).
 */
import { z } from "zod";
import { isWellFormed, TextSchema } from "../core/schemas.js";
import { parseInput } from "../core/validate.js";

/** An object literal (or `Object.create(null)`): not an array, a class instance, a Map. */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * A plain object, checked without walking it: `z.record(z.string(), z.unknown())` accepts the same values but copies
 * every key into a new object, which was most of a ~1 KB put's validation time (bench/README.md, "LangGraph").
 */
const ObjectSchema = z.custom<Record<string, unknown>>(isPlainObject, { message: "expected an object" });
const Versions = z.record(TextSchema, z.union([z.string(), z.number()]));

export const PutInputSchema = z.object({
  checkpoint: z.looseObject({
    id: TextSchema.min(1),
    ts: z.string().optional(),
    channel_values: ObjectSchema,
    channel_versions: Versions,
    versions_seen: z.record(z.string(), ObjectSchema).optional(),
  }),
  metadata: ObjectSchema.optional(),
  newVersions: Versions,
});

export const PutWritesInputSchema = z.object({
  writes: z.array(z.tuple([TextSchema, z.unknown()])),
  taskId: TextSchema.min(1),
  taskPath: TextSchema,
});

/**
 * Every own key of a plain object, or `undefined` when one is a symbol: `z.record` with a string key schema refuses a
 * symbol key, which a for-in loop never sees. (Non-enumerable keys, which zod skips, are checked too: stricter, so
 * such an input only goes to zod.)
 */
function recordKeys(v: Record<string, unknown>): string[] | undefined {
  const keys = Reflect.ownKeys(v);
  return keys.every((k) => typeof k === "string") ? (keys as string[]) : undefined;
}

/** Channel → version: well-formed names, string or finite-number versions. */
function isVersions(v: unknown): boolean {
  if (!isPlainObject(v)) return false;
  const keys = recordKeys(v);
  if (!keys) return false;
  for (const k of keys) {
    const version = v[k];
    if (!isWellFormed(k) || !(typeof version === "string" || Number.isFinite(version))) return false;
  }
  return true;
}

/** True only for a put's arguments `PutInputSchema` accepts; `false` says nothing (then zod decides). */
export function acceptsPutInput(input: { checkpoint: unknown; metadata: unknown; newVersions: unknown }): boolean {
  const c = input.checkpoint;
  if (!isPlainObject(c) || typeof c.id !== "string" || c.id === "" || !isWellFormed(c.id)) return false;
  if (c.ts !== undefined && typeof c.ts !== "string") return false;
  if (!isPlainObject(c.channel_values) || !isVersions(c.channel_versions)) return false;
  if (c.versions_seen !== undefined) {
    const seen = c.versions_seen;
    if (!isPlainObject(seen)) return false;
    const keys = recordKeys(seen);
    if (!keys?.every((k) => isPlainObject(seen[k]))) return false;
  }
  return (input.metadata === undefined || isPlainObject(input.metadata)) && isVersions(input.newVersions);
}

/** True only for `putWrites` arguments `PutWritesInputSchema` accepts; `false` says nothing (then zod decides). */
export function acceptsPutWritesInput(input: { writes: unknown; taskId: unknown; taskPath: unknown }): boolean {
  const { writes, taskId, taskPath } = input;
  if (!Array.isArray(writes)) return false;
  for (const w of writes) {
    if (!Array.isArray(w) || w.length !== 2 || typeof w[0] !== "string" || !isWellFormed(w[0])) return false;
  }
  return (
    typeof taskId === "string" &&
    taskId !== "" &&
    isWellFormed(taskId) &&
    typeof taskPath === "string" &&
    isWellFormed(taskPath)
  );
}

/** Throws `INVALID_INPUT` unless `put`'s arguments have the shapes it relies on. */
export function checkPutInput(input: { checkpoint: unknown; metadata: unknown; newVersions: unknown }): void {
  if (!acceptsPutInput(input)) parseInput(PutInputSchema, input);
}

/** Throws `INVALID_INPUT` unless `putWrites`' arguments have the shapes it relies on. */
export function checkPutWritesInput(input: { writes: unknown; taskId: unknown; taskPath: unknown }): void {
  if (!acceptsPutWritesInput(input)) parseInput(PutWritesInputSchema, input);
}
