/**
 * The effect fence (docs/effects.md): run an external side effect (an email, a webhook, a payment) only while a set
 * of preconditions still holds, and at most once per opId.
 *
 * An effect is two commits on its record key (`effects/<opId>` by default) around the effect itself:
 *   1. the intent: `status: "pending"`, committed with `expectVersion: 0` under the caller's `guards` (keys at the
 *      versions the agent read, claims still held), so the precondition check and the record of the attempt are ONE
 *      transaction: a second attempt with the same opId finds the record instead of firing;
 *   2. the outcome: `done` with the effect's result, or `failed` with its error, committed over the intent's version.
 * Both commits carry opIds (`<opId>/intent/<n>`, `<opId>/outcome/<n>`), so the event log names each attempt.
 *
 * At most once: an intent without an outcome (a crash between the two commits, or an attempt still running) reads as
 * `status: "unknown"` and is not fired again unless the caller names it in `refire`.
 */
import { randomUUID } from "node:crypto";
import { z } from "zod";
import { FencedStateError, InvalidInputError, isErrorCode, VersionConflictError } from "./errors.js";
import { findNonJson, type Json } from "./json.js";
import { op } from "./ops.js";
import { GuardSchema, JsonSchema, KeySchema } from "./schemas.js";
import type { StateStore } from "./store.js";
import { checkKey, parseInput } from "./validate.js";

/** Longest effect opId: the derived commit opIds (`<opId>/outcome/<n>`) must stay within the 256 of a commit's. */
export const MAX_EFFECT_OP_ID_LENGTH = 200;

const EffectOpId = z
  .string()
  .min(1)
  .max(MAX_EFFECT_OP_ID_LENGTH)
  .refine((s) => !/[\u0000-\u001f\u007f]/.test(s), "opId must not contain control characters");
const EffectOwner = z
  .string()
  .min(1)
  .max(256)
  .refine((s) => !s.includes("\u0000"), "owner must not contain NUL (U+0000)");
const Refire = z.array(z.enum(["unknown", "failed"])).max(2);

/** What `beginEffect` (and `POST /v1/effects/intent`) takes. */
export const EffectIntentRequestSchema = z
  .object({
    /** Names the effect: every retry of the same effect passes the same opId. */
    opId: EffectOpId,
    /** Preconditions checked in the intent's transaction (docs/guards.md): the effect fires only if all hold. */
    guards: z.array(GuardSchema).max(1000).optional(),
    /** The effect's record key; default `effects/<opId>`. */
    key: KeySchema.optional(),
    /** Who fires, for the record and the event log. */
    owner: EffectOwner.optional(),
    /**
     * Fire again when an earlier attempt's outcome is `unknown` (intent recorded, no outcome) or `failed`. Default
     * none: at most once. Only safe when the earlier attempt is known to be dead and the effect tolerates a repeat.
     */
    refire: Refire.optional(),
    /**
     * A unique id for this attempt, chosen by the caller (default: a random one). A client that resends its intent
     * after losing the answer (a network error) passes the same id and is told to proceed: the pending intent is its own.
     */
    attemptId: z.string().min(1).max(256).optional(),
  })
  .strict();
export type EffectIntentRequest = z.infer<typeof EffectIntentRequestSchema>;

/** What `finishEffect` (and `POST /v1/effects/outcome`) takes: the outcome of the attempt `beginEffect` allowed. */
export const EffectOutcomeRequestSchema = z
  .object({
    opId: EffectOpId,
    key: KeySchema.optional(),
    /** The attempt number `beginEffect` returned. */
    attempt: z.number().int().min(1),
    status: z.enum(["done", "failed"]),
    /** `done`: what the effect returned (JSON), kept in the record and returned to later retries. */
    result: JsonSchema.optional(),
    /** `failed`: why. */
    error: z
      .object({ message: z.string().max(4096), code: z.string().max(256).optional() })
      .strict()
      .optional(),
  })
  .strict();
export type EffectOutcomeRequest = z.infer<typeof EffectOutcomeRequestSchema>;

/** The value stored at an effect's record key. */
export const EffectRecordSchema = z.object({
  opId: z.string(),
  status: z.enum(["pending", "done", "failed"]),
  /** 1 for the first attempt; each `refire` adds one. */
  attempt: z.number().int(),
  /** Unique per attempt: two racers with the same opId never send the same intent, so neither mistakes the other's for a replay of its own. */
  attemptId: z.string(),
  owner: z.string().optional(),
  guards: z.array(GuardSchema),
  startedAt: z.number().int(),
  finishedAt: z.number().int().optional(),
  result: JsonSchema.optional(),
  error: z.object({ message: z.string(), code: z.string().optional() }).optional(),
  /** Set when the result could not be stored (not JSON, or over the value limit). */
  resultOmitted: z.string().optional(),
});
export type EffectRecord = z.infer<typeof EffectRecordSchema>;

/** How a finished or unfinished earlier attempt reads: `unknown` is a `pending` record (no outcome recorded). */
export type EffectStatus = "done" | "failed" | "unknown";

/** `beginEffect`'s answer: fire now (attempt `attempt`), or do not, because of this earlier record. */
export const EffectIntentSchema = z.discriminatedUnion("proceed", [
  z.object({
    proceed: z.literal(true),
    key: z.string(),
    attempt: z.number().int(),
    version: z.number().int(),
    record: EffectRecordSchema,
  }),
  z.object({
    proceed: z.literal(false),
    key: z.string(),
    status: z.enum(["done", "failed", "unknown"]),
    version: z.number().int(),
    previous: EffectRecordSchema,
  }),
]);
export type EffectIntent = z.infer<typeof EffectIntentSchema>;

/** `finishEffect`'s answer: the record as stored, and its version. */
export const EffectOutcomeSchema = z.object({ key: z.string(), version: z.number().int(), record: EffectRecordSchema });
export type EffectOutcome = z.infer<typeof EffectOutcomeSchema>;

/** `store.effect`'s request: the intent's fields and the effect itself. */
export interface EffectRequest<T extends Json> extends EffectIntentRequest {
  /** The side effect. Its result must be JSON to be recorded; if it throws, `failed` is recorded and the error rethrown. */
  run(): Promise<T> | T;
}

/** `store.effect`'s answer: the effect fired now with `result`, or it did not because of an earlier attempt. */
export type EffectResult<T extends Json> =
  | { fired: true; status: "done"; result: T; record: EffectRecord }
  | { fired: false; status: EffectStatus; previous: EffectRecord };

/**
 * Records the intent to fire, under the request's guards, or reports the earlier attempt that makes firing wrong.
 * Throws `FENCED` (a guard's claim is gone) or `VERSION_CONFLICT` (a guarded key moved; `details.key` is that key)
 * and records nothing then.
 */
export async function beginEffect(store: StateStore, request: EffectIntentRequest): Promise<EffectIntent> {
  const req = parseInput(EffectIntentRequestSchema, request);
  const key = effectKey(store, req);
  const refire = new Set(req.refire ?? []);
  const guards = req.guards ?? [];
  // Checked up front as `commit` checks them: a retry answered from the record must refuse what a commit would.
  guards.forEach((g, i) => {
    checkKey(g.key, store.limits, ["guards", i, "key"]);
  });
  for (;;) {
    const current = await store.read(key);
    let attempt = 1;
    if (current.exists) {
      const previous = effectRecord(key, current.value);
      if (previous.status === "pending" && req.attemptId !== undefined && previous.attemptId === req.attemptId) {
        return { proceed: true, key, attempt: previous.attempt, version: current.version, record: previous };
      }
      const status: EffectStatus = previous.status === "pending" ? "unknown" : previous.status;
      if (status === "done" || !refire.has(status))
        return { proceed: false, key, status, version: current.version, previous };
      attempt = previous.attempt + 1;
    } else if (current.version > 0) {
      throw new InvalidInputError({
        issues: [{ path: ["key"], message: `effect record ${key} was deleted; use a new opId` }],
      });
    }
    const record: EffectRecord = {
      opId: req.opId,
      status: "pending",
      attempt,
      attemptId: req.attemptId ?? randomUUID(),
      guards,
      startedAt: store.now(),
    };
    if (req.owner !== undefined) record.owner = req.owner;
    try {
      const committed = await store.commitRetryingUnavailable({
        key,
        op: op.set(record),
        expectVersion: current.version,
        guards,
        opId: `${req.opId}/intent/${attempt}`,
        ...(req.owner !== undefined && { owner: req.owner }),
      });
      // A replay is this call's own intent landing before an UNAVAILABLE: `attemptId` makes every attempt's payload
      // unique, so a racer with the same opId is IDEMPOTENCY_MISMATCH, never a replay.
      return { proceed: true, key, attempt, version: committed.version, record };
    } catch (err) {
      // Someone else recorded an intent (or an outcome) first: re-read and report it, never fire.
      const lostRace =
        isErrorCode(err, "IDEMPOTENCY_MISMATCH") || (err instanceof VersionConflictError && err.details.key === key);
      if (!lostRace) throw err;
      // A mismatch while the record has not moved is no race: the opId's intent went to another record key. Looping
      // would never end; the caller reused an opId.
      if ((await store.read(key)).version === current.version) throw err;
    }
  }
}

/**
 * Records the outcome of the attempt `beginEffect` allowed. `VERSION_CONFLICT` when the record moved since the
 * intent (another attempt took over with `refire`); a retry of the same outcome returns the stored record.
 */
export async function finishEffect(store: StateStore, request: EffectOutcomeRequest): Promise<EffectOutcome> {
  const req = parseInput(EffectOutcomeRequestSchema, request);
  const key = effectKey(store, req);
  const current = await store.read(key);
  const intent = current.exists ? effectRecord(key, current.value) : undefined;
  if (!intent)
    throw new InvalidInputError({ issues: [{ path: ["opId"], message: `no intent is recorded at ${key}` }] });
  if (intent.attempt !== req.attempt || intent.status !== "pending") {
    // The same outcome again (a retried call) answers with what is stored; anything else lost to a later attempt.
    if (intent.attempt === req.attempt && intent.status === req.status)
      return { key, version: current.version, record: intent };
    throw new VersionConflictError({
      key,
      expectedVersion: null,
      actualVersion: current.version,
      attempt: intent.attempt,
      status: intent.status,
    });
  }
  const record: EffectRecord = { ...intent, status: req.status, finishedAt: store.now() };
  if (req.error !== undefined) record.error = req.error;
  const opId = `${req.opId}/outcome/${req.attempt}`;
  const write = (value: EffectRecord) =>
    store.commitRetryingUnavailable({
      key,
      op: op.set(value),
      expectVersion: current.version,
      opId,
      ...(intent.owner !== undefined && { owner: intent.owner }),
    });
  if (req.result === undefined) return { key, version: (await write(record)).version, record };
  try {
    const full = { ...record, result: req.result };
    return { key, version: (await write(full)).version, record: full };
  } catch (err) {
    // The effect happened; a result too large to keep must not lose the outcome itself.
    if (!isErrorCode(err, "PAYLOAD_TOO_LARGE")) throw err;
    const slim = { ...record, resultOmitted: err.message };
    return { key, version: (await write(slim)).version, record: slim };
  }
}

/**
 * Fires `run` at most once per opId, and only if `guards` hold when the intent is recorded (see the file comment).
 * Throws `FENCED` or `VERSION_CONFLICT` instead of firing when a precondition no longer holds.
 */
export async function runEffect<T extends Json>(
  store: StateStore,
  request: EffectRequest<T>,
): Promise<EffectResult<T>> {
  const { run, ...intentRequest } = request;
  if (typeof run !== "function")
    throw new InvalidInputError({ issues: [{ path: ["run"], message: "run must be a function" }] });
  const intent = await beginEffect(store, intentRequest);
  if (!intent.proceed) return { fired: false, status: intent.status, previous: intent.previous };
  const base = { opId: intentRequest.opId, attempt: intent.attempt, key: intent.key };
  let result: T;
  try {
    result = await run();
  } catch (err) {
    const error = {
      message: err instanceof Error ? err.message : String(err),
      ...(err instanceof FencedStateError && { code: err.code }),
    };
    await finishEffect(store, {
      ...base,
      status: "failed",
      error: { ...error, message: error.message.slice(0, 4096) },
    });
    throw err;
  }
  const storable = result === undefined || findNonJson(result) !== null ? undefined : result;
  const outcome = await finishEffect(store, {
    ...base,
    status: "done",
    ...(storable !== undefined && { result: storable }),
  });
  return { fired: true, status: "done", result, record: outcome.record };
}

/** The effect record stored at `key`; `INVALID_INPUT` when the key holds something else (it was written by hand). */
function effectRecord(key: string, value: unknown): EffectRecord {
  const parsed = EffectRecordSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new InvalidInputError({
    issues: [{ path: ["key"], message: `${key} holds a value that is not an effect record` }],
  });
}

/** The record key: the request's, or `effects/<opId>`; either must be a valid key within the store's limit. */
function effectKey(store: StateStore, req: { opId: string; key?: string | undefined }): string {
  const key = req.key ?? `effects/${req.opId}`;
  const path = req.key === undefined ? ["opId"] : ["key"];
  const parsed = KeySchema.safeParse(key);
  if (!parsed.success) {
    const message = `${req.key === undefined ? `the record key effects/${req.opId}` : "key"}: ${parsed.error.issues[0]!.message}`;
    throw new InvalidInputError({ issues: [{ path, message }] });
  }
  checkKey(key, store.limits, path);
  return key;
}
