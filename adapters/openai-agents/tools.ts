/**
 * Function tools that give agents shared, versioned state: `read_state`, `commit_state` (with an expected version)
 * and `update_state` (a JSON Merge Patch). A rejected write comes back to the model as a structured result it can act
 * on (`code`, `retryable`, the current version and value), never as a crash, and nothing is swallowed: any error that
 * is not a fenced-state error propagates and fails the run (G6).
 */
import { tool, type FunctionTool, type RunContext } from "@openai/agents";
import { randomUUID } from "node:crypto";
import { z } from "zod";
import {
  FencedStateError,
  InvalidInputError,
  isErrorCode,
  op,
  type CommitRequest,
  type ErrorCode,
  type Json,
  type StateStore,
} from "../../src/index.js";
import { epochFor, fenceOf, type FencedContext } from "./fence.js";

export interface StateToolsOptions {
  /**
   * Keys the model names are relative to this prefix: with `"team/"`, key `"plan"` is `team/plan`. It keeps the model
   * away from other state (its own session history, say); `""` opens every key.
   */
  prefix: string;
  /** Prepended to the tool names (`read_state`, …), to give one agent tools over two prefixes. Default `""`. */
  namePrefix?: string;
}

/** A successful read or write, as the model sees it. */
export interface StateToolSuccess {
  ok: true;
  key: string;
  exists: boolean;
  version: number;
  value?: Json;
}

/** A rejected call, as the model sees it: the wire error body plus what to do next. */
export interface StateToolFailure {
  ok: false;
  key: string;
  error: { code: ErrorCode; retryable: boolean; message: string; details: unknown };
  /** On `VERSION_CONFLICT`: the key as it is now, so the model can redo its change on it. */
  current?: { exists: boolean; version: number; value?: Json };
  hint: string;
}

export type StateToolResult = StateToolSuccess | StateToolFailure;

const HINTS: Partial<Record<ErrorCode, string>> = {
  VERSION_CONFLICT:
    "Someone else changed this key since you read it. Redo your change on current.value and commit again with expectVersion = current.version.",
  FENCED: "This run no longer holds this key: a newer run took it over. Do not retry; stop writing and report.",
  INVALID_INPUT: "The arguments were invalid (see error.details); fix them and call again.",
  PAYLOAD_TOO_LARGE: "The value is too large; store less.",
  UNAVAILABLE: "The store was unavailable; the write may not have landed. Read the key, then retry if needed.",
};

const Key = z.string().min(1).describe('The state key, e.g. "plan"');
const ExpectVersion = z
  .number()
  .int()
  .min(0)
  .describe("The version you read (0 when the key did not exist). The write is rejected if the key changed since.");

const ReadParams = z.object({ key: Key });
const CommitParams = z.object({
  key: Key,
  value: z.string().describe('The new value as JSON text, e.g. {"n":1} or ["a","b"] or "a string"'),
  expectVersion: ExpectVersion,
});
const UpdateParams = z.object({
  key: Key,
  patch: z.string().describe('The patch as JSON object text, e.g. {"status":"done","draft":null}'),
  expectVersion: ExpectVersion.nullable(),
});

/** A state tool as `tool()` builds it: zod parameters, a `StateToolResult` for the model. */
export type StateTool<C, P extends z.ZodObject> = FunctionTool<C, P, StateToolResult>;

/** `read_state`: a key's JSON value and version. */
export function readStateTool<C = FencedContext>(
  store: StateStore,
  options: StateToolsOptions,
): StateTool<C, typeof ReadParams> {
  return tool<typeof ReadParams, C, StateToolResult>({
    name: `${options.namePrefix ?? ""}read_state`,
    description:
      "Read a shared-state key. Returns its JSON value and version; pass the version as expectVersion when you commit.",
    parameters: ReadParams,
    errorFunction: null,
    execute: ({ key }) =>
      answer(store, options, key, async () => {
        const r = await store.read(options.prefix + key);
        return { ok: true, exists: r.exists, version: r.version, ...(r.exists && { value: r.value }) };
      }),
  });
}

/** `commit_state`: replace a key's value if it is still at `expectVersion` (G1), under the run's fence (G2). */
export function commitStateTool<C = FencedContext>(
  store: StateStore,
  options: StateToolsOptions,
): StateTool<C, typeof CommitParams> {
  return tool<typeof CommitParams, C, StateToolResult>({
    name: `${options.namePrefix ?? ""}commit_state`,
    description:
      "Replace a shared-state key's value, only if nobody changed it since you read it (expectVersion). On a VERSION_CONFLICT result, redo your change on the current value and commit again.",
    parameters: CommitParams,
    errorFunction: null,
    execute: ({ key, value, expectVersion }, runContext) =>
      answer(store, options, key, () =>
        write(store, options.prefix + key, op.set(parseJson(value, "value")), expectVersion, runContext),
      ),
  });
}

/** `update_state`: apply a JSON Merge Patch (RFC 7386), optionally only at `expectVersion`. */
export function updateStateTool<C = FencedContext>(
  store: StateStore,
  options: StateToolsOptions,
): StateTool<C, typeof UpdateParams> {
  return tool<typeof UpdateParams, C, StateToolResult>({
    name: `${options.namePrefix ?? ""}update_state`,
    description:
      "Merge a JSON object patch into a shared-state key (RFC 7386: fields merge recursively, null deletes a field). With expectVersion null the patch applies to whatever is current; with a version it is rejected if the key changed since.",
    parameters: UpdateParams,
    errorFunction: null,
    execute: ({ key, patch, expectVersion }, runContext) =>
      answer(store, options, key, () =>
        write(store, options.prefix + key, op.merge(parsePatch(patch)), expectVersion, runContext),
      ),
  });
}

/**
 * The three state tools over one prefix.
 *
 * @example
 * ```ts
 * const planner = new Agent<FencedContext>({ name: "planner", instructions: "…", tools: stateTools(store, { prefix: "team/" }) });
 * ```
 */
export function stateTools<C = FencedContext>(
  store: StateStore,
  options: StateToolsOptions,
): [StateTool<C, typeof ReadParams>, StateTool<C, typeof CommitParams>, StateTool<C, typeof UpdateParams>] {
  return [readStateTool<C>(store, options), commitStateTool<C>(store, options), updateStateTool<C>(store, options)];
}

async function write(
  store: StateStore,
  key: string,
  o: CommitRequest["op"],
  expectVersion: number | null,
  runContext: RunContext<unknown> | undefined,
): Promise<Outcome> {
  const fence = fenceOf(runContext);
  const epoch = epochFor(fence, key);
  const r = await store.commitRetryingUnavailable({
    key,
    op: o,
    opId: randomUUID(),
    ...(expectVersion !== null && { expectVersion }),
    ...(epoch !== undefined && { epoch }),
    ...(fence && { owner: fence.owner }),
  });
  return { ok: true, exists: r.exists, version: r.version };
}

/** A success before `answer` names the key the model used. */
type Outcome = Omit<StateToolSuccess, "key">;

/** Runs one tool call, turning a fenced-state error into the structured result the model reads. */
async function answer(
  store: StateStore,
  options: StateToolsOptions,
  key: string,
  call: () => Promise<Outcome>,
): Promise<StateToolResult> {
  try {
    return { ...(await call()), key };
  } catch (err) {
    if (!(err instanceof FencedStateError)) throw err;
    const { code, retryable, message, details } = (err as FencedStateError).toJSON().error;
    const failure: StateToolFailure = {
      ok: false,
      key,
      error: { code, retryable, message, details },
      hint: HINTS[code] ?? message,
    };
    if (isErrorCode(err, "VERSION_CONFLICT")) {
      // A courtesy for the model (it saves a read_state call); if the read fails, the conflict itself still stands.
      const r = await store.read(options.prefix + key).catch((e: unknown) => {
        if (e instanceof FencedStateError) return undefined;
        throw e;
      });
      if (r) failure.current = { exists: r.exists, version: r.version, ...(r.exists && { value: r.value }) };
    }
    return failure;
  }
}

function parsePatch(text: string): { [key: string]: Json } {
  const patch = parseJson(text, "patch");
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) {
    throw new InvalidInputError({ issues: [{ path: ["patch"], message: "patch must be a JSON object" }] });
  }
  return patch;
}

function parseJson(text: string, field: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch (err) {
    throw new InvalidInputError({
      issues: [{ path: [field], message: `not valid JSON text: ${(err as Error).message}` }],
    });
  }
}
