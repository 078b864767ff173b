import type { z } from "zod";
import { InvalidInputError, PayloadTooLargeError, type InputIssue } from "./errors.js";
import type { Limits } from "./schemas.js";

/**
 * Parses `input` with `schema`, or throws `InvalidInputError` carrying zod's issues, their paths under `at` (where
 * `input` sits in the caller's arguments). Nothing has been written yet. `schema` must be built once, at module
 * level: zod compiles a schema on its first parse, so one built per call costs ~100 µs (measured) where a parse costs
 * a few. `fast` (fast-parse.ts) answers zod's output for the plainly valid inputs it recognises, `undefined` for the
 * rest, which zod parses.
 */
export function parseInput<S extends z.ZodType>(
  schema: S,
  input: unknown,
  at: (string | number)[] = [],
  fast?: (input: unknown) => z.output<S> | undefined,
): z.output<S> {
  const quick = fast?.(input);
  if (quick !== undefined) return quick;
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issues: InputIssue[] = parsed.error.issues.map((i) => ({
    path: [...at, ...i.path.map((p) => (typeof p === "symbol" ? String(p) : p))],
    message: i.message,
  }));
  throw new InvalidInputError({ issues });
}

/** Enforces the store's configured key-length limit (the schema enforces only the hard maximum). */
export function checkKey(key: string, limits: Limits, path: (string | number)[] = ["key"]): void {
  if (key.length > limits.maxKeyLength) {
    throw new InvalidInputError({ issues: [{ path, message: `key longer than ${limits.maxKeyLength} characters` }] });
  }
}

/** Enforces the value-size limit on a value's JSON text. */
export function checkValueSize(text: string, limits: Limits): void {
  // Byte length is at most 3 × UTF-16 length: skip the exact count for the common small value.
  if (text.length * 3 <= limits.maxValueBytes) return;
  const size = Buffer.byteLength(text, "utf8");
  if (size > limits.maxValueBytes) throw new PayloadTooLargeError({ limit: limits.maxValueBytes, size });
}
