import type { InputIssue } from "./errors.js";
import { mergePatch, type Json } from "./json.js";
import type { Op } from "./schemas.js";

/**
 * Op constructors, e.g. `store.commit({ key, op: op.increment(1) })`.
 * `increment`, `append` and `merge` apply to the current value, so without `expectVersion` they never conflict with
 * each other; they are still fenced.
 */
export const op = {
  /** Replace the value. */
  set: (value: Json): Op => ({ type: "set", value }),
  /** Delete the key; it keeps its version (a tombstone), so a stale writer still conflicts. */
  delete: (): Op => ({ type: "delete" }),
  /** Add `by` to a number (a missing key counts as 0). */
  increment: (by = 1): Op => ({ type: "increment", by }),
  /** Append items to an array (a missing key counts as `[]`). */
  append: (...items: Json[]): Op => ({ type: "append", items }),
  /** Apply a JSON Merge Patch (RFC 7386): `null` deletes a field. */
  merge: (patch: { [key: string]: Json }): Op => ({ type: "merge", patch }),
} as const;

/** The value after `op`, or the issue that makes it inapplicable to the current value. */
export type Applied = { exists: true; value: Json } | { exists: false } | { issue: InputIssue };

/** Applies `op` to the current value (`undefined` when the key does not exist). Pure. */
export function applyOp(current: Json | undefined, o: Op): Applied {
  switch (o.type) {
    case "set":
      return { exists: true, value: o.value };
    case "delete":
      return { exists: false };
    case "increment": {
      const base = current ?? 0;
      if (typeof base !== "number") return { issue: typeIssue("increment", "a number", base) };
      const value = base + o.by;
      if (!Number.isFinite(value)) return { issue: { path: ["op", "by"], message: "increment overflows" } };
      return { exists: true, value };
    }
    case "append": {
      const base = current ?? [];
      if (!Array.isArray(base)) return { issue: typeIssue("append", "an array", base) };
      return { exists: true, value: [...base, ...o.items] };
    }
    case "merge":
      return { exists: true, value: mergePatch(current, o.patch) };
  }
}

function typeIssue(opName: string, wanted: string, found: Json): InputIssue {
  const kind = found === null ? "null" : Array.isArray(found) ? "an array" : `a ${typeof found}`;
  return { path: ["op"], message: `${opName} needs ${wanted} as the current value, found ${kind}` };
}
