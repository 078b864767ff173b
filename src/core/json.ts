import crypto, { createHash } from "node:crypto";

/** A JSON value: what a record may hold. `undefined`, functions, `NaN`, `Infinity`, dates and class instances are not. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Where a value is not storable JSON, and why. */
export interface NonJson {
  path: (string | number)[];
  message: string;
}

/**
 * The first part of `value` that is not storable JSON, or `null` when it is plain JSON whose every number is exact
 * everywhere. Stricter than `JSON.stringify`, which silently turns `NaN` into `null` and drops `undefined` (G6: no
 * silent drop). Numbers must lie within ±(2^53 − 1): beyond it JSON readers disagree (a Python or Go client parses
 * `9007199254740993` exactly, JavaScript rounds it to `9007199254740992`), so such a value could not read back the
 * same on every client; it is rejected rather than silently rounded (issue 15 item 9).
 */
export function findNonJson(value: unknown, path: (string | number)[] = [], depth = 0): NonJson | null {
  if (depth > 256) return { path, message: "nested more than 256 levels deep" };
  if (value === null || typeof value === "string" || typeof value === "boolean") return null;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) return { path, message: "not a finite number (NaN and Infinity are not JSON)" };
    if (Math.abs(value) > Number.MAX_SAFE_INTEGER) return { path, message: UNSAFE_NUMBER };
    return null;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const bad = findNonJson(value[i], [...path, i], depth + 1);
      if (bad) return bad;
    }
    return null;
  }
  if (typeof value === "object") {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return { path, message: "not plain JSON (a class instance)" };
    for (const k of Object.keys(value)) {
      const bad = findNonJson((value as Record<string, unknown>)[k], [...path, k], depth + 1);
      if (bad) return bad;
    }
    return null;
  }
  return { path, message: `not JSON (${typeof value})` };
}

/** Why a number beyond ±(2^53 − 1) is refused. */
export const UNSAFE_NUMBER = "numbers beyond ±(2^53 − 1) cannot be stored exactly; store them as strings";

/** True for a plain JSON object (not an array, not null, not a class instance). */
export function isJsonObject(value: unknown): value is { [key: string]: Json } {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * `JSON.stringify` with object keys sorted, so equal values always give equal text (idempotency hashes). The text
 * must never change (stored digests are compared with it): it is the one this function always gave, which
 * test/core/json.test.ts keeps as its reference — members whose value is `undefined` left out, keys in UTF-16 code
 * unit order, an array's holes empty and its `undefined` items `null`. Built in one pass, with no arrays in between
 * and no sort when the keys already come in order (a request's usually do).
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) {
    let text = "[";
    for (let i = 0; i < value.length; i++) {
      if (i > 0) text += ",";
      if (i in value) text += canonicalJson(value[i]);
    }
    return `${text}]`;
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  for (let i = 1; i < keys.length; i++) {
    if (keys[i - 1]! > keys[i]!) {
      keys.sort();
      break;
    }
  }
  let text = "{";
  for (const k of keys) {
    const v = obj[k];
    if (v === undefined) continue;
    if (text.length > 1) text += ",";
    text += `${JSON.stringify(k)}:${canonicalJson(v)}`;
  }
  return `${text}}`;
}

/**
 * SHA-256 of a string as base64url: Node's one-shot `crypto.hash` where it exists (Node ≥ 20.12; 0.23 against
 * 0.58 µs for a commit's payload, measured), else a Hash object. Both give the same digest.
 */
const sha256: (text: string) => string =
  typeof (crypto as { hash?: unknown }).hash === "function"
    ? (text) => crypto.hash("sha256", text, "base64url")
    : (text) => createHash("sha256").update(text).digest("base64url");

/** A short, stable digest of a request payload. */
export function payloadHash(value: unknown): string {
  return sha256(canonicalJson(value));
}

/**
 * JSON Merge Patch (RFC 7386): objects merge recursively, `null` deletes, anything else replaces. Every member is
 * data, `"__proto__"` included: members are read with `Object.hasOwn` and written with `defineProperty`, never by
 * assignment, which for `"__proto__"` would set the prototype and drop the member (issue 15 item 8).
 */
export function mergePatch(target: Json | undefined, patch: Json): Json {
  if (!isJsonObject(patch)) return patch;
  const base: { [key: string]: Json } = isJsonObject(target) ? { ...target } : {};
  for (const k of Object.keys(patch)) {
    const v = patch[k]!;
    if (v === null) delete base[k];
    else setMember(base, k, mergePatch(Object.hasOwn(base, k) ? base[k] : undefined, v));
  }
  return base;
}

/** Sets an own data member, whatever its name (`"__proto__"` included). */
function setMember(obj: { [key: string]: Json }, key: string, value: Json): void {
  Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
}

/** Deep equality of two JSON values. */
export function jsonEqual(a: Json | undefined, b: Json | undefined): boolean {
  return canonicalJson(a) === canonicalJson(b);
}
