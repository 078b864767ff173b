/**
 * The inspector's query strings, as zod schemas: one source for validation (through the coordinator's
 * `zodValidatorCompiler`, so bad input is the core's `INVALID_INPUT`) and for the handlers' types. Every listing is
 * cursor-paginated: the answer's `next` is the cursor to send back, `null` when there is nothing further.
 */
import { z } from "zod";
import { KeySchema, OUTCOMES, PrefixSchema } from "../core/schemas.js";

const Seq = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** `outcome=conflict,fenced`: a comma-separated subset of the event log's outcomes; empty or absent means all. */
const OutcomeList = z
  .string()
  .max(200)
  .transform((s) => s.split(",").filter((o) => o !== ""))
  .pipe(z.array(z.enum(OUTCOMES)));

/** `GET /api/keys`: keys under `prefix`, by key. */
export const KeysQuerySchema = z
  .object({
    prefix: PrefixSchema.default(""),
    /** The last key of the previous page. */
    after: z.string().max(4096).optional(),
    limit: z.number().int().min(1).max(1000).default(100),
  })
  .strict();
export type KeysQuery = z.output<typeof KeysQuerySchema>;

/** `GET /api/key`: one key in full. */
export const KeyQuerySchema = z.object({ key: KeySchema }).strict();

/**
 * Events newest first (`before`: only seqs below it), or oldest first when `after` is given (only seqs above it).
 * `key` keeps one key's events only (its history); `prefix` keeps a subtree.
 */
export const EventsQuerySchema = z
  .object({
    prefix: PrefixSchema.default(""),
    key: KeySchema.optional(),
    outcome: OutcomeList.default([]),
    before: Seq.optional(),
    after: Seq.optional(),
    limit: z.number().int().min(1).max(1000).default(100),
  })
  .strict()
  .refine((q) => q.before === undefined || q.after === undefined, "give before or after, not both");
export type EventsQuery = z.output<typeof EventsQuerySchema>;

/** Counts per outcome in `buckets` equal slices of the last `windowMs` (by the events' timestamps). */
export const CountsQuerySchema = z
  .object({
    prefix: PrefixSchema.default(""),
    windowMs: z
      .number()
      .int()
      .min(1000)
      .max(366 * 24 * 3600 * 1000)
      .default(10 * 60 * 1000),
    buckets: z.number().int().min(1).max(500).default(60),
  })
  .strict();
export type CountsQuery = z.output<typeof CountsQuerySchema>;

/** `GET /api/threads`: LangGraph threads by (encoded) id. */
export const ThreadsQuerySchema = z
  .object({
    /** The last head key scanned by the previous page (opaque to the page). */
    after: z.string().max(4096).optional(),
    limit: z.number().int().min(1).max(1000).default(100),
  })
  .strict();
export type ThreadsQuery = z.output<typeof ThreadsQuerySchema>;

const ThreadId = z.string().min(1).max(4096);
const Ns = z.string().max(4096).default("");

/** `GET /api/thread`: one thread's heads per namespace and its run claim. */
export const ThreadQuerySchema = z.object({ thread: ThreadId }).strict();

/** One page of a lineage, newest checkpoint first; `after` is the last checkpoint id of the previous page. */
export const LineageQuerySchema = z
  .object({
    thread: ThreadId,
    ns: Ns,
    after: z.string().min(1).max(4096).optional(),
    limit: z.number().int().min(1).max(1000).default(200),
  })
  .strict();
export type LineageQuery = z.output<typeof LineageQuerySchema>;

/** `GET /api/thread/checkpoint`: the decoded state at one checkpoint. */
export const CheckpointQuerySchema = z.object({ thread: ThreadId, ns: Ns, id: z.string().min(1).max(4096) }).strict();
export type CheckpointQuery = z.output<typeof CheckpointQuerySchema>;
