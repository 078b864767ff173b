/**
 * zod schemas: the single source of the request and record types, of the HTTP validation and of the OpenAPI document.
 * Limits that a store may configure (key length, value size) are checked again in `commit` with the store's numbers.
 */
import { z } from "zod";
import { findNonJson, type Json } from "./json.js";

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

/** A `/`-separated path such as `team/research/notes`: no empty segment, no control characters. */
export const KeySchema = z
  .string()
  .min(1, "key must not be empty")
  .max(MAX_KEY_LENGTH)
  .refine((k) => !/[\u0000-\u001f\u007f]/.test(k), "key must not contain control characters")
  .refine((k) => !k.startsWith("/") && !k.endsWith("/") && !k.includes("//"), "key must not have empty segments")
  .meta({ description: "A /-separated path, e.g. team/research/notes", example: "team/research/notes" });

/** A key prefix for list and watch: `""` (everything), `"team/"`, or a whole key. */
export const PrefixSchema = z
  .string()
  .max(MAX_KEY_LENGTH)
  .refine((k) => !/[\u0000-\u001f\u007f]/.test(k), "prefix must not contain control characters");

/** Any JSON value (no NaN, Infinity, undefined, dates or class instances). */
export const JsonSchema = z
  .custom<Json>((v) => findNonJson(v) === null, { message: "must be plain JSON (no NaN, Infinity, undefined, functions or class instances)" })
  .meta({ description: "Any JSON value" });

// NUL cannot be stored in PostgreSQL text; refusing it here keeps every backend accepting the same inputs.
const OpId = z.string().min(1).max(256).refine((s) => !s.includes("\u0000"), "opId must not contain NUL (U+0000)");
const Owner = z.string().min(1).max(256).refine((s) => !s.includes("\u0000"), "owner must not contain NUL (U+0000)");
const Version = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const Epoch = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** The five ops of SPEC §3. `increment`, `append` and `merge` apply to the current value. */
export const OpSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("set"), value: JsonSchema }).strict(),
  z.object({ type: z.literal("delete") }).strict(),
  z.object({ type: z.literal("increment"), by: z.number().finite() }).strict(),
  z.object({ type: z.literal("append"), items: z.array(JsonSchema).min(1) }).strict(),
  z.object({ type: z.literal("merge"), patch: z.record(z.string(), JsonSchema) }).strict(),
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
    ttlMs: z.number().int().min(1).max(7 * 24 * 3600 * 1000),
    /** Reclaim from another owner whose claim is still live (it will be fenced). */
    steal: z.boolean().optional(),
  })
  .strict();
export type ClaimRequest = z.infer<typeof ClaimRequestSchema>;

/** Identifies one claim: renew and release name the epoch they hold. A whole `Claim` may be passed (extra fields are ignored). */
export const ClaimRefSchema = z.object({ key: KeySchema, owner: Owner, epoch: Epoch });
export type ClaimRef = z.infer<typeof ClaimRefSchema>;

export const RenewRequestSchema = ClaimRefSchema.extend({
  ttlMs: z.number().int().min(1).max(7 * 24 * 3600 * 1000),
});
export type RenewRequest = z.infer<typeof RenewRequestSchema>;

export const ListRequestSchema = z
  .object({
    prefix: PrefixSchema.default(""),
    /** Return keys strictly after this one (pagination). */
    after: z.string().max(MAX_KEY_LENGTH).optional(),
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
