/**
 * zod schemas: the single source of the request and record types, of the HTTP validation and of the OpenAPI document.
 * Limits that a store may configure (key length, value size) are checked again in `commit` with the store's numbers.
 */
import { z } from "zod";
import { findNonJson, isJsonObject, type Json } from "./json.js";

/** Default limits; `openStore({ limits })` overrides them. */
export const DEFAULT_LIMITS = {
  /** Longest key, in UTF-16 code units. */
  maxKeyLength: 512,
  /** Largest value after an op is applied, in bytes of its JSON text. */
  maxValueBytes: 1024 * 1024,
  /** Most requests in one txn. */
  maxTxnSize: 1000,
} as const;

export type Limits = { maxKeyLength: number; maxValueBytes: number; maxTxnSize: number };

/** The hard ceiling on key length; a store's own `limits.maxKeyLength` (default 512) is checked in `commit`. */
export const MAX_KEY_LENGTH = 4096;

/** A lone UTF-16 surrogate (one not paired with its other half): such a string has no UTF-8 form. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * True when `s` is well-formed UTF-16 (`String.prototype.isWellFormed`). A lone surrogate cannot be encoded as UTF-8:
 * SQLite and PostgreSQL would store U+FFFD in its place, so two keys would become one (issue 13 item 9).
 */
export function isWellFormed(s: string): boolean {
  return !LONE_SURROGATE.test(s);
}

const NOT_WELL_FORMED = "must be well-formed Unicode (no lone UTF-16 surrogates)";

/** A string that every backend stores and returns unchanged: well-formed UTF-16. Ids and names build on it. */
export const TextSchema = z.string().refine(isWellFormed, NOT_WELL_FORMED);

/** A `/`-separated path such as `team/research/notes`: no empty segment, no control characters, well-formed. */
export const KeySchema = z
  .string()
  .min(1, "key must not be empty")
  .max(MAX_KEY_LENGTH)
  .refine(isWellFormed, `key ${NOT_WELL_FORMED}`)
  .refine((k) => !/[\u0000-\u001f\u007f]/.test(k), "key must not contain control characters")
  .refine((k) => !k.startsWith("/") && !k.endsWith("/") && !k.includes("//"), "key must not have empty segments")
  .meta({ description: "A /-separated path, e.g. team/research/notes", example: "team/research/notes" });

/** A key prefix for list and watch: `""` (everything), `"team/"`, or a whole key. */
export const PrefixSchema = z
  .string()
  .max(MAX_KEY_LENGTH)
  .refine((k) => !/[\u0000-\u001f\u007f]/.test(k), "prefix must not contain control characters")
  .refine(isWellFormed, `prefix ${NOT_WELL_FORMED}`);

/** The message for a value that is not storable JSON: where inside it, and why. */
function nonJsonMessage(value: unknown): string {
  const bad = findNonJson(value);
  const where = bad && bad.path.length > 0 ? ` (at ${bad.path.join(".")})` : "";
  return `must be plain JSON${where}: ${bad?.message ?? "not JSON"}`;
}

/**
 * Any JSON value: no NaN, Infinity, undefined, dates or class instances, and numbers within ±(2^53 − 1) (see
 * `findNonJson`). The value passes through as it is, so members named `"__proto__"` stay data.
 */
export const JsonSchema = z
  .custom<Json>((v) => findNonJson(v) === null, { error: (iss) => nonJsonMessage(iss.input) })
  .meta({ description: "Any JSON value; numbers within ±(2^53 − 1)" });

/**
 * A JSON object, passed through as it is. Not `z.record`, which rebuilds the object by assignment and so turns a
 * `"__proto__"` member into the copy's prototype: the member would vanish (issue 15 item 8).
 */
export const JsonObjectSchema = z
  .custom<{ [key: string]: Json }>((v) => isJsonObject(v) && findNonJson(v) === null, {
    error: (iss) => (isJsonObject(iss.input) ? nonJsonMessage(iss.input) : "must be a JSON object"),
  })
  .meta({ type: "object", description: "A JSON object" });

/** A number `increment` may add: finite and within ±(2^53 − 1), like every number a value holds. */
const Increment = z.number().finite().min(-Number.MAX_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER);

// NUL cannot be stored in PostgreSQL text; refusing it here keeps every backend accepting the same inputs.
const OpId = TextSchema.min(1)
  .max(256)
  .refine((s) => !s.includes("\u0000"), "opId must not contain NUL (U+0000)");
const Owner = TextSchema.min(1)
  .max(256)
  .refine((s) => !s.includes("\u0000"), "owner must not contain NUL (U+0000)");
const Version = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const Epoch = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** The five ops of docs/design.md §3. `increment`, `append` and `merge` apply to the current value. */
export const OpSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("set"), value: JsonSchema }).strict(),
  z.object({ type: z.literal("delete") }).strict(),
  z.object({ type: z.literal("increment"), by: Increment }).strict(),
  z.object({ type: z.literal("append"), items: z.array(JsonSchema).min(1) }).strict(),
  z.object({ type: z.literal("merge"), patch: JsonObjectSchema }).strict(),
]);
export type Op = z.infer<typeof OpSchema>;

/**
 * A precondition on a key the request need not write, checked in the commit's transaction (etcd's `Compare`; see
 * docs/guards.md). `{ key, epoch }`: the claim with this epoch is still the key's live claim, by the rule a commit's
 * own epoch is held to (`epoch: null`: no claim on the key is live, the rule for a commit that presents none);
 * `{ key, version }`: the key is still at this version (`0`: it does not exist).
 */
export const GuardSchema = z.union([
  z.object({ key: KeySchema, epoch: Epoch.nullable() }).strict(),
  z.object({ key: KeySchema, version: Version }).strict(),
]);
export type Guard = z.infer<typeof GuardSchema>;
const Guards = z.array(GuardSchema).max(DEFAULT_LIMITS.maxTxnSize);

/** One commit: the key, the op and its preconditions. */
export const CommitRequestSchema = z
  .object({
    key: KeySchema,
    op: OpSchema,
    /** The version the writer read; `0` means "the key must not exist yet". Omit to skip the version check. */
    expectVersion: Version.optional(),
    /** The fencing token from `claim()`; required while a claim on the key is live. */
    epoch: Epoch.optional(),
    /** Makes retries safe: the same opId and payload returns the first result. */
    opId: OpId.optional(),
    /** Who writes, for the event log. */
    owner: Owner.optional(),
    /** Preconditions on other keys (or this one), checked before this key's own epoch and version. */
    guards: Guards.optional(),
  })
  .strict();
export type CommitRequest = z.infer<typeof CommitRequestSchema>;

/** Several commits, all-or-nothing. The opId, if any, covers the whole txn. */
export const TxnRequestSchema = z
  .object({
    requests: z
      .array(CommitRequestSchema.omit({ opId: true, guards: true }).strict())
      .min(1)
      .max(DEFAULT_LIMITS.maxTxnSize)
      .refine((rs) => new Set(rs.map((r) => r.key)).size === rs.length, "each key may appear once in a txn"),
    opId: OpId.optional(),
    /** Preconditions of the whole txn, checked before any request's own epoch and version. */
    guards: Guards.optional(),
  })
  .strict();
export type TxnRequest = z.infer<typeof TxnRequestSchema>;

export const ClaimRequestSchema = z
  .object({
    key: KeySchema,
    owner: Owner,
    ttlMs: z
      .number()
      .int()
      .min(1)
      .max(7 * 24 * 3600 * 1000),
    /** Reclaim from another owner whose claim is still live (it will be fenced). */
    steal: z.boolean().optional(),
  })
  .strict();
export type ClaimRequest = z.infer<typeof ClaimRequestSchema>;

/** Identifies one claim: renew and release name the epoch they hold. A whole `Claim` may be passed (extra fields are ignored). */
export const ClaimRefSchema = z.object({ key: KeySchema, owner: Owner, epoch: Epoch });
export type ClaimRef = z.infer<typeof ClaimRefSchema>;

export const RenewRequestSchema = ClaimRefSchema.extend({
  ttlMs: z
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 3600 * 1000),
});
export type RenewRequest = z.infer<typeof RenewRequestSchema>;

export const ListRequestSchema = z
  .object({
    prefix: PrefixSchema.default(""),
    /** Return keys strictly after this one (pagination). */
    after: TextSchema.max(MAX_KEY_LENGTH).optional(),
    limit: z.number().int().min(1).max(10_000).default(1000),
    /** Include deleted keys (tombstones keep their version). */
    includeDeleted: z.boolean().default(false),
  })
  .strict();
export type ListRequest = z.input<typeof ListRequestSchema>;

/** A key's state. A key never written has `version: 0`; a deleted key keeps its version with `exists: false`. */
export const StateRecordSchema = z.object({
  key: z.string(),
  exists: z.boolean(),
  value: JsonSchema.optional(),
  version: Version,
  epoch: Epoch,
  updatedAt: z.number().int().optional(),
});
export type StateRecord = z.infer<typeof StateRecordSchema>;

export const CommitResultSchema = z.object({
  key: z.string(),
  exists: z.boolean(),
  value: JsonSchema.optional(),
  version: Version,
  epoch: Epoch,
  /** True when this is the stored result of an earlier commit with the same opId; nothing was applied again. */
  replayed: z.boolean(),
  /** The event-log sequence number of the commit. */
  seq: z.number().int(),
});
export type CommitResult = z.infer<typeof CommitResultSchema>;

export const TxnResultSchema = z.object({ results: z.array(CommitResultSchema), replayed: z.boolean() });
export type TxnResult = z.infer<typeof TxnResultSchema>;

export const ClaimSchema = z.object({ key: z.string(), owner: Owner, epoch: Epoch, expiresAt: z.number().int() });
/** A lease on a key; `epoch` is the fencing token to present on every commit. */
export type Claim = z.infer<typeof ClaimSchema>;

export const OUTCOMES = ["committed", "conflict", "fenced", "replayed", "claimed", "released"] as const;
export type Outcome = (typeof OUTCOMES)[number];

export const StateEventSchema = z.object({
  seq: z.number().int(),
  ts: z.number().int(),
  key: z.string(),
  version: Version,
  epoch: Epoch,
  owner: z.string().optional(),
  opId: z.string().optional(),
  outcome: z.enum(OUTCOMES),
});
/** One line of the event log. */
export type StateEvent = z.infer<typeof StateEventSchema>;

export const WatchRequestSchema = z
  .object({ prefix: PrefixSchema.default(""), fromSeq: z.number().int().min(0).default(0) })
  .strict();

/** A position in the event log. */
const Seq = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** The most keys one `readMany` reads. */
export const MAX_READ_MANY = 1000;

/** `readMany`'s request: keys to read at one snapshot, answered in this order (a key may appear twice). */
export const ReadManyRequestSchema = z.object({ keys: z.array(KeySchema).max(MAX_READ_MANY) }).strict();
export type ReadManyRequest = z.infer<typeof ReadManyRequestSchema>;

/**
 * Records read at one snapshot (docs/snapshots.md): `seq` is its event-log position. Every event with a seq up to it
 * is reflected in `records`, none after, so no record shows a txn that another record does not.
 */
export const SnapshotSchema = z.object({ seq: Seq, records: z.array(StateRecordSchema) });
export type Snapshot = z.infer<typeof SnapshotSchema>;

/** The most events one `events()` call returns (the default retention keeps 100,000). */
export const MAX_EVENTS_PAGE = 100_000;

/** `store.events(prefix, options)`'s options. */
export const EventsOptionsSchema = z
  .object({
    /** First seq to return (inclusive). Default 1: the oldest event kept. */
    fromSeq: Seq.default(1),
    limit: z.number().int().min(1).max(MAX_EVENTS_PAGE).default(1000),
  })
  .strict();
export type EventsOptions = z.input<typeof EventsOptionsSchema>;

/** One page of the event log as one request (`{ prefix, fromSeq, limit }`), e.g. for the shared vectors. */
export const EventsRequestSchema = z
  .object({ prefix: PrefixSchema.default(""), ...EventsOptionsSchema.shape })
  .strict();

// Arguments of the TypeScript API that never travel as JSON (functions, signals, timers). Each method parses its
// arguments as one object, so a null, missing or mistyped argument is INVALID_INPUT naming it, never a TypeError.

/** `setTimeout`'s range: a larger delay fires at once. */
const TimerMs = z
  .number()
  .int()
  .min(1)
  .max(2 ** 31 - 1);
const TtlMs = z
  .number()
  .int()
  .min(1)
  .max(7 * 24 * 3600 * 1000);
const Signal = z.instanceof(AbortSignal);
/** A callback. Its own parameters are typed by the method's signature. */
export const FunctionSchema = z.custom<(...args: never[]) => unknown>(
  (v) => typeof v === "function",
  "must be a function",
);

/** `BackoffOptions` (retry.ts). */
export const BackoffOptionsSchema = z
  .object({
    retries: z.number().int().min(0).max(1_000_000).optional(),
    baseMs: z.number().finite().min(0).optional(),
    maxMs: z.number().finite().min(0).optional(),
    signal: Signal.optional(),
  })
  .strict();

/** `store.update(key, fn, options)`'s options: backoff, and the epoch and owner its commits carry. */
export const UpdateOptionsSchema = BackoffOptionsSchema.extend({
  epoch: Epoch.optional(),
  owner: Owner.optional(),
}).strict();

/** `store.withClaim(key, fn, options)`'s options. */
export const WithClaimOptionsSchema = z
  .object({ owner: Owner, ttlMs: TtlMs.optional(), steal: z.boolean().optional(), renewEveryMs: TimerMs.optional() })
  .strict();

/** `store.watch(prefix, options)`'s options. */
export const WatchOptionsSchema = z
  .object({ fromSeq: Seq.optional(), signal: Signal.optional(), pollMs: TimerMs.optional() })
  .strict();

/** `store.txn(requests, options)`'s options. */
export const TxnOptionsSchema = z.object({ opId: OpId.optional(), guards: Guards.optional() }).strict();

/** `claimAndRun(store, options, fn)`'s options (src/core/run-claim.ts). */
export const ClaimAndRunOptionsSchema = z
  .object({
    owner: Owner,
    keys: z.array(KeySchema).max(1000),
    onBusy: z.enum(["reject", "enqueue", "interrupt"]).optional(),
    ttlMs: TtlMs.optional(),
    renewEveryMs: TimerMs.optional(),
    waitMs: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .optional(),
    signal: Signal.optional(),
    pollMs: TimerMs.optional(),
  })
  .strict();
