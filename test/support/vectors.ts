/**
 * Loads the shared vectors in `specs/vectors/*.json` and checks a runner's outcome against a step (format in
 * `specs/vectors/README.md`). The core runner, the HTTP runner and the Python runner apply the same rules.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FencedStateError } from "../../src/index.js";

export const VECTOR_DIR = fileURLToPath(new URL("../../specs/vectors/", import.meta.url));

export type VectorCall = "read" | "list" | "commit" | "txn" | "claim" | "renew" | "release" | "events";

export interface VectorStep {
  call: VectorCall;
  request: unknown;
  result?: unknown;
  error?: { code: string; retryable?: boolean; details?: unknown };
}

export interface VectorCase {
  name: string;
  steps: VectorStep[];
}

export interface VectorFile {
  file: string;
  description: string;
  cases: VectorCase[];
}

/** What a runner observed: the wire result, or the wire error body's `error`. */
export type Outcome = { result: unknown } | { error: { code: string; retryable: boolean; details: unknown } };

export function loadVectors(): VectorFile[] {
  return readdirSync(VECTOR_DIR)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((file) => ({ file, ...(JSON.parse(readFileSync(join(VECTOR_DIR, file), "utf8")) as Omit<VectorFile, "file">) }));
}

/** Replaces `{ns}` in every string of `value`. */
export function withNamespace<T>(value: T, ns: string): T {
  return JSON.parse(JSON.stringify(value).replaceAll("{ns}", ns)) as T;
}

/** Runs `call` and turns a thrown `FencedStateError` into its wire error; anything else is a test failure. */
export async function outcomeOf(call: () => Promise<unknown>): Promise<Outcome> {
  try {
    return { result: await call() };
  } catch (err) {
    if (err instanceof FencedStateError) return { error: err.toJSON().error };
    throw err;
  }
}

/** The ways `outcome` differs from what `step` expects; empty when it matches. */
export function stepMismatches(step: VectorStep, outcome: Outcome): string[] {
  if (step.error) {
    if (!("error" in outcome)) return [`expected error ${step.error.code}, got result ${JSON.stringify(outcome.result)}`];
    return partialMismatches(outcome.error, step.error, "error");
  }
  if ("error" in outcome) return [`expected a result, got error ${JSON.stringify(outcome.error)}`];
  return partialMismatches(outcome.result, step.result ?? {}, "result");
}

function partialMismatches(actual: unknown, expected: unknown, path: string): string[] {
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) {
      return [`${path}: expected ${expected.length} items, got ${JSON.stringify(actual)}`];
    }
    return expected.flatMap((e, i) => partialMismatches(actual[i], e, `${path}[${i}]`));
  }
  if (expected !== null && typeof expected === "object") {
    if (actual === null || typeof actual !== "object") return [`${path}: expected an object, got ${JSON.stringify(actual)}`];
    const a = actual as Record<string, unknown>;
    // Own members only: a member named "__proto__" is data, and its absence must not read as Object.prototype.
    const member = (k: string) => (Object.hasOwn(a, k) ? a[k] : undefined);
    return Object.entries(expected).flatMap(([k, e]) =>
      e === "$absent"
        ? member(k) === undefined
          ? []
          : [`${path}.${k}: expected absent, got ${JSON.stringify(member(k))}`]
        : partialMismatches(member(k), e, `${path}.${k}`),
    );
  }
  return Object.is(actual, expected) ? [] : [`${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`];
}
