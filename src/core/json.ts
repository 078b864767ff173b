import { createHash } from "node:crypto";

/** A JSON value: what a record may hold. `undefined`, functions, `NaN`, `Infinity`, dates and class instances are not. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * Returns the path of the first non-JSON part of `value`, or `null` when it is plain JSON.
 * Stricter than `JSON.stringify`, which silently turns `NaN` into `null` and drops `undefined` (G6: no silent drop).
 */
export function findNonJson(value: unknown, path: (string | number)[] = [], depth = 0): (string | number)[] | null {
  if (depth > 256) return path;
  if (value === null || typeof value === "string" || typeof value === "boolean") return null;
  if (typeof value === "number") return Number.isFinite(value) ? null : path;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const bad = findNonJson(value[i], [...path, i], depth + 1);
      if (bad) return bad;
    }
    return null;
  }
  if (typeof value === "object") {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return path;
    for (const k of Object.keys(value)) {
      const bad = findNonJson((value as Record<string, unknown>)[k], [...path, k], depth + 1);
      if (bad) return bad;
    }
    return null;
  }
  return path;
}

/** `JSON.stringify` with object keys sorted, so equal values always give equal text (idempotency hashes). */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(",")}}`;
}

/** A short, stable digest of a request payload. */
export function payloadHash(value: unknown): string {
  return createHash("sha256").update(canonicalJson(value)).digest("base64url");
}

/** JSON Merge Patch (RFC 7386): objects merge recursively, `null` deletes, anything else replaces. */
export function mergePatch(target: Json | undefined, patch: Json): Json {
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return patch;
  const base: { [key: string]: Json } =
    target !== null && typeof target === "object" && !Array.isArray(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete base[k];
    else base[k] = mergePatch(base[k], v);
  }
  return base;
}

/** Deep equality of two JSON values. */
export function jsonEqual(a: Json | undefined, b: Json | undefined): boolean {
  return canonicalJson(a) === canonicalJson(b);
}
