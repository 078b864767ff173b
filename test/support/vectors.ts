/**
 * Loads the shared vectors in `specs/vectors/*.json` and checks a runner's outcome against a step (format in
 * `specs/vectors/README.md`). The core runner, the HTTP runner and the Python runner apply the same rules.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FencedStateError } from "../../src/index.js";

export const VECTOR_DIR = fileURLToPath(new URL("../../specs/vectors/", import.meta.url));

export type VectorCall = "read" | "read-many" | "list" | "commit" | "txn" | "claim" | "renew" | "release" | "events";

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
    .map((file) => ({
      file,
      ...(JSON.parse(readFileSync(join(VECTOR_DIR, file), "utf8")) as Omit<VectorFile, "file">),
    }));
}

/** Replaces `{ns}` in every string of `value`. */
export function withNamespace<T>(value: T, ns: string): T {
  return JSON.parse(JSON.stringify(value).replaceAll("{ns}", ns)) as T;
}

/** Beyond any epoch a test store hands out: what an epoch no claim of the case was granted stands for. */
const UNBOUND_EPOCH = 2 ** 40;
const EPOCH_FIELDS = new Set(["epoch", "heldEpoch", "currentEpoch"]);

/**
 * Epochs in a vector are local to its case (specs/vectors/README.md): the store hands out epochs from one store-wide
 * counter, so on a long-lived coordinator a case's first claim is not epoch 1. A claim step's expected `epoch: n`
 * binds n to the epoch the store granted; every `epoch`, `heldEpoch` and `currentEpoch` n in later requests and
 * expectations stands for it. An n no claim was granted stands for an epoch beyond any the store handed out; 0, and
 * what is not a positive integer (bad input on purpose), stays as written.
 */
export class CaseEpochs {
  private readonly bound = new Map<number, number>([[0, 0]]);

  /** `step` with its local epochs replaced by the store's, in the request and in the expected outcome. */
  resolve(step: VectorStep): VectorStep {
    const out: VectorStep = { ...step, request: this.map(step.request) };
    if (step.result !== undefined) out.result = this.map(step.result);
    if (step.error !== undefined) out.error = this.map(step.error);
    return out;
  }

  /** Binds a claim step's expected local epoch to the one the store granted; call before `resolve`ing its outcome. */
  observe(step: VectorStep, outcome: Outcome): void {
    const local = (step.result as { epoch?: unknown } | undefined)?.epoch;
    const granted = "result" in outcome ? (outcome.result as { epoch?: unknown } | null)?.epoch : undefined;
    if (step.call !== "claim" || typeof local !== "number" || typeof granted !== "number" || this.bound.has(local))
      return;
    this.bound.set(local, granted);
  }

  private map<T>(value: T): T {
    if (Array.isArray(value)) return value.map((v: unknown) => this.map(v)) as T;
    if (value === null || typeof value !== "object") return value;
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k,
        EPOCH_FIELDS.has(k) && isLocalEpoch(v) ? (this.bound.get(v) ?? UNBOUND_EPOCH + v) : this.map(v),
      ]),
    ) as T;
  }
}

/** A case-local epoch: a positive integer below `UNBOUND_EPOCH`. Anything else (bad input on purpose) stays as written. */
function isLocalEpoch(v: unknown): v is number {
  return Number.isInteger(v) && (v as number) > 0 && (v as number) < UNBOUND_EPOCH;
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
    if (!("error" in outcome))
      return [`expected error ${step.error.code}, got result ${JSON.stringify(outcome.result)}`];
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
    if (actual === null || typeof actual !== "object")
      return [`${path}: expected an object, got ${JSON.stringify(actual)}`];
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
  return Object.is(actual, expected)
    ? []
    : [`${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`];
}
