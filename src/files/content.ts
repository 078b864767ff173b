/**
 * How a file's bytes live in a record. The store value stays JSON: UTF-8 text is kept as a string (readable in the
 * inspector and in `fenced files read --json`), anything else — invalid UTF-8, or text with NUL, which PostgreSQL
 * text cannot hold — as base64. `sha256` is over the bytes, whichever the encoding.
 *
 * `ring` keeps the hashes of the last {@link RING_SIZE} versions, slot `version % RING_SIZE`. It is what tells a disk
 * that merely lags (another process's materialization of an older version landed late) from an outside edit. A write
 * is committed as a JSON Merge Patch whose only state is the version it expects, so a retry with the same opId sends
 * the same payload and replays (G3).
 */
import { createHash } from "node:crypto";
import type { Json } from "../core/json.js";

/** Versions whose hashes a record remembers. */
export const RING_SIZE = 8;

export type FileEncoding = "utf8" | "base64";

/** The JSON value of a file's record. */
export interface FileValue {
  encoding: FileEncoding;
  content: string;
  sha256: string;
  size: number;
  /** `String(version % RING_SIZE)` → the sha256 of that version, for the last RING_SIZE versions. */
  ring: Record<string, string>;
}

/** Hex sha256 of `bytes`. */
export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** `content` as bytes: a string is UTF-8 text. */
export function toBytes(content: string | Uint8Array): Buffer {
  return typeof content === "string" ? Buffer.from(content, "utf8") : Buffer.from(content);
}

/** Decodes a wire `{ content, encoding }` pair. */
export function decodeContent(content: string, encoding: FileEncoding): Buffer {
  return encoding === "base64" ? Buffer.from(content, "base64") : Buffer.from(content, "utf8");
}

/** The merge patch that makes `bytes` the content of version `version`. */
export function contentPatch(bytes: Buffer, version: number): { [key: string]: Json } {
  const hash = sha256(bytes);
  const text = bytes.toString("utf8");
  const isText = !text.includes("\u0000") && Buffer.from(text, "utf8").equals(bytes);
  return {
    encoding: isText ? "utf8" : "base64",
    content: isText ? text : bytes.toString("base64"),
    sha256: hash,
    size: bytes.length,
    ring: { [String(version % RING_SIZE)]: hash },
  };
}

/** Reads a record value as a `FileValue`, or `undefined` when the record is not one (written by other means). */
export function asFileValue(value: Json | undefined): FileValue | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  const { encoding, content, sha256: hash, size, ring } = value;
  if ((encoding !== "utf8" && encoding !== "base64") || typeof content !== "string" || typeof hash !== "string")
    return undefined;
  if (typeof size !== "number" || ring === null || typeof ring !== "object" || Array.isArray(ring)) return undefined;
  return { encoding, content, sha256: hash, size, ring: ring as Record<string, string> };
}

/** The hashes a disk file may hold without being an outside edit: this version's and the recent ones before it. */
export function knownHashes(value: FileValue): Set<string> {
  return new Set([value.sha256, ...Object.values(value.ring)]);
}
