/**
 * Decoded checkpoint values as plain JSON for the page. LangGraph state holds more than JSON (messages with
 * `toJSON`, Map, Set, bytes, bigint, undefined); the page only displays it, so each becomes the nearest readable JSON
 * and nothing throws.
 */
import type { Json } from "../core/json.js";

/** Deepest nesting shown; deeper values become `"…"`. */
const MAX_DEPTH = 64;

/** `value` as JSON the page can show; cycles become `"[cycle]"`. */
export function toPlainJson(value: unknown): Json {
  return plain(value, new Set(), 0);
}

function plain(value: unknown, seen: Set<object>, depth: number): Json {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      return Number.isFinite(value) ? value : String(value);
    case "bigint":
      return `${value}n`;
    case "function":
    case "symbol":
      return `[${typeof value}]`;
  }
  if (depth >= MAX_DEPTH) return "…";
  const obj = value as object;
  if (seen.has(obj)) return "[cycle]";
  seen.add(obj);
  try {
    if (obj instanceof Uint8Array)
      return { bytes: Buffer.from(obj.buffer, obj.byteOffset, obj.byteLength).toString("base64") };
    if (obj instanceof Date) return Number.isNaN(obj.getTime()) ? "Invalid Date" : obj.toISOString();
    if (obj instanceof Map)
      return { map: [...obj].map(([k, v]) => [plain(k, seen, depth + 1), plain(v, seen, depth + 1)]) };
    if (obj instanceof Set) return { set: [...obj].map((v) => plain(v, seen, depth + 1)) };
    if (Array.isArray(obj)) return obj.map((v) => plain(v, seen, depth + 1));
    const toJSON = (obj as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === "function") {
      const json: unknown = toJSON.call(obj);
      if (json !== obj) return plain(json, seen, depth + 1);
    }
    const out: Record<string, Json> = {};
    for (const [k, v] of Object.entries(obj)) out[k] = plain(v, seen, depth + 1);
    return out;
  } finally {
    seen.delete(obj);
  }
}
