import type { InputIssue } from "./errors.js";
import { mergePatch, UNSAFE_NUMBER, type Json } from "./json.js";
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
  /**
   * Add `by` to a number (a missing key counts as 0). An increment whose result leaves ±(2^53 − 1), or that is too
   * small to change the value (`1 + 1e-20`), is `INVALID_INPUT`: it would otherwise be acknowledged and change nothing.
   */
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
      const base = current === undefined ? 0 : current; // only a missing key counts as 0: a stored null is refused
      if (typeof base !== "number") return { issue: typeIssue("increment", "a number", base) };
      return incremented(base, o.by);
    }
    case "append": {
      const base = current === undefined ? [] : current;
      if (!Array.isArray(base)) return { issue: typeIssue("append", "an array", base) };
      return { exists: true, value: [...base, ...o.items] };
    }
    case "merge":
      return { exists: true, value: mergePatch(current, o.patch) };
  }
}

/**
 * `base + by`, or why that sum would not be the write the caller asked for (G6: never acknowledge a write that did
 * not happen). Every stored number lies within ±(2^53 − 1), where integer sums are exact; a sum outside it is refused
 * (JavaScript would round it: `MAX_SAFE_INTEGER + 2` is `MAX_SAFE_INTEGER + 1`, and further on a `+ 1` changes
 * nothing). Fractions add in IEEE-754 doubles as JavaScript does, but an increment that leaves the value exactly as
 * it was although `by` is not 0 is refused too.
 */
function incremented(base: number, by: number): Applied {
  const value = base + by;
  if (!Number.isFinite(value) || Math.abs(value) > Number.MAX_SAFE_INTEGER) {
    return { issue: { path: ["op", "by"], message: `increment of ${base} by ${by} overflows: ${UNSAFE_NUMBER}` } };
  }
  if (value === base && by !== 0) {
    return { issue: { path: ["op", "by"], message: `increment of ${base} by ${by} is too small to change the value` } };
  }
  return { exists: true, value };
}

function typeIssue(opName: string, wanted: string, found: Json): InputIssue {
  return { path: ["op"], message: `${opName} needs ${wanted} as the current value, found ${kindOf(found)}` };
}

/** "null", "an array", "an object", "a string", ...: what an issue says it found. */
function kindOf(found: Json): string {
  if (found === null) return "null";
  if (Array.isArray(found)) return "an array";
  return typeof found === "object" ? "an object" : `a ${typeof found}`;
}
