/**
 * zod schemas of the work queue: the single source of its TypeScript types, of its HTTP validation and of its part
 * of the OpenAPI document (src/server/routes.ts).
 */
import { z } from "zod";
import type { Json } from "../core/json.js";
import { CommitRequestSchema, GuardSchema, JsonSchema, TxnResultSchema } from "../core/schemas.js";

const Int = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const Ms = z
  .number()
  .int()
  .min(1)
  .max(7 * 24 * 3600 * 1000);
const Text = z
  .string()
  .min(1)
  .max(256)
  .refine((s) => !s.includes("\u0000"), "must not contain NUL (U+0000)");

/** A queue's name: any string of 1–200 characters (it is encoded into one key segment). */
export const QueueNameSchema = z.string().min(1).max(200).meta({ description: "The queue's name", example: "emails" });

/** Retry backoff of a task: attempt `n` (1-based) that fails waits `min(maxMs, baseMs · 2^(n-1))`. */
export const RetryPolicySchema = z.object({ baseMs: Ms.default(1000), maxMs: Ms.default(60_000) }).strict();
export type RetryPolicy = z.output<typeof RetryPolicySchema>;

export const EnqueueRequestSchema = z
  .object({
    queue: QueueNameSchema,
    payload: JsonSchema,
    /** Makes enqueue idempotent: the same opId enqueues once, forever (not subject to the idempotency retention). */
    opId: Text.optional(),
    /** Leases a task may take before it is dead-lettered. Default 5. */
    maxAttempts: z.number().int().min(1).max(1000).default(5),
    retry: RetryPolicySchema.optional(),
    /** Who enqueues, for the event log. */
    owner: Text.optional(),
  })
  .strict();
export type EnqueueRequest = z.input<typeof EnqueueRequestSchema>;

export const EnqueueResultSchema = z.object({
  queue: z.string(),
  seq: Int,
  key: z.string(),
  /** False when the opId had been enqueued before: nothing was written. */
  created: z.boolean(),
});
export type EnqueueResult = z.infer<typeof EnqueueResultSchema>;

export const LeaseRequestSchema = z
  .object({
    queue: QueueNameSchema,
    /** The consumer; one owner per concurrent consumer. */
    owner: Text,
    /** The visibility timeout: the lease's length. Renew it with `heartbeat`. */
    visibilityMs: Ms,
  })
  .strict();
export type LeaseRequest = z.input<typeof LeaseRequestSchema>;

/** Names one lease: what heartbeat, complete and fail need (a whole `Lease` may be passed). */
export const LeaseRefSchema = z.object({
  queue: QueueNameSchema,
  seq: Int,
  owner: Text,
  /** The fencing token: the epoch of the claim on the task's key. */
  epoch: Int,
  /** The task record's version that this lease wrote. */
  version: Int,
});
export type LeaseRef = z.infer<typeof LeaseRefSchema>;

export const LeaseSchema = LeaseRefSchema.extend({
  /** The task's key (`queues/<q>/ready/<seq>`): the key the lease claims. */
  key: z.string(),
  payload: JsonSchema,
  /** Which attempt this is, 1-based. */
  attempt: Int,
  maxAttempts: Int,
  /** When the lease lapses unless renewed (store clock, ms). */
  expiresAt: Int,
});
export type Lease = z.infer<typeof LeaseSchema>;

export const LeaseResultSchema = z.object({ lease: LeaseSchema.nullable() });

export const HeartbeatRequestSchema = z.object({ lease: LeaseRefSchema, visibilityMs: Ms }).strict();

/** A txn item written with the completion (same shape as a txn's requests). */
const CompletionWriteSchema = CommitRequestSchema.omit({ opId: true, guards: true }).strict();

export const CompleteRequestSchema = z
  .object({
    lease: LeaseRefSchema,
    result: JsonSchema.optional(),
    /** State writes that land in the same transaction as the completion, or not at all. */
    writes: z.array(CompletionWriteSchema).max(998).optional(),
    /** More preconditions for the completion's txn (the lease's own fence is always added). */
    guards: z.array(GuardSchema).max(998).optional(),
    /** Default: one opId per lease, so a retried completion replays. */
    opId: Text.optional(),
  })
  .strict();
export type CompleteRequest = z.input<typeof CompleteRequestSchema>;
export const CompleteResultSchema = TxnResultSchema;

export const FailRequestSchema = z
  .object({
    lease: LeaseRefSchema,
    error: z.string().max(4096).default(""),
    /** Wait this long before the task is visible again, instead of the task's backoff. */
    retryAfterMs: z
      .number()
      .int()
      .min(0)
      .max(7 * 24 * 3600 * 1000)
      .optional(),
  })
  .strict();
export type FailRequest = z.input<typeof FailRequestSchema>;

export const FailResultSchema = z.object({
  /** `retry`: visible again at `visibleAt`; `dead`: moved to the dead letters. */
  status: z.enum(["retry", "dead"]),
  visibleAt: Int.optional(),
});
export type FailResult = z.infer<typeof FailResultSchema>;

export const QueueStatsRequestSchema = z.object({ queue: QueueNameSchema }).strict();
export const QueueStatsSchema = z.object({
  /** Tasks ever enqueued (the last seq). */
  enqueued: Int,
  /** Pending tasks: waiting, delayed or leased. */
  pending: Int,
  done: Int,
  dead: Int,
});
export type QueueStats = z.infer<typeof QueueStatsSchema>;

/** The stored value of a pending task (`ready/<seq>`). */
export interface TaskValue {
  payload: Json;
  opId: string;
  enqueuedAt: number;
  /** Leases taken so far (counted when leased, so a worker killed mid-task uses one up). */
  attempts: number;
  maxAttempts: number;
  retry: RetryPolicy;
  /** Not leasable before this time (a backoff after a failure). */
  visibleAt: number;
  /** A hint: the last lease's end as written at lease time. The claim on the key is the truth. */
  leasedUntil: number;
  leasedBy?: string;
  lastError?: string;
}
