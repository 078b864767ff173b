/**
 * The coordinator's JSON routes (docs/design.md §7): each one names the core zod schema it accepts, the schema of what it
 * answers, and the one `StateStore` call it makes. The same table drives Fastify's validation and `/openapi.json`,
 * so no rule and no schema is written twice. Routes are RPC-style POSTs with JSON bodies (like etcd's JSON gateway):
 * a body keeps JSON's types, which a query string would not.
 */
import { z } from "zod";
import { InvalidInputError } from "../core/errors.js";
import type { StateStore } from "../core/store.js";
import {
  beginEffect,
  EffectIntentRequestSchema,
  EffectIntentSchema,
  EffectOutcomeRequestSchema,
  EffectOutcomeSchema,
  finishEffect,
} from "../core/effects.js";
import {
  ClaimRefSchema,
  ClaimRequestSchema,
  ClaimSchema,
  EventsRequestSchema,
  CommitRequestSchema,
  CommitResultSchema,
  KeySchema,
  ListRequestSchema,
  ReadManyRequestSchema,
  RenewRequestSchema,
  SnapshotSchema,
  StateEventSchema,
  StateRecordSchema,
  TxnRequestSchema,
  TxnResultSchema,
} from "../core/schemas.js";
import { workQueue } from "../queue/queue.js";
import {
  CompleteRequestSchema,
  CompleteResultSchema,
  EnqueueRequestSchema,
  EnqueueResultSchema,
  FailRequestSchema,
  FailResultSchema,
  HeartbeatRequestSchema,
  LeaseRequestSchema,
  LeaseResultSchema,
  QueueStatsRequestSchema,
  QueueStatsSchema,
} from "../queue/schemas.js";
import { decodeContent } from "../files/content.js";
import type { FencedFiles } from "../files/files.js";
import {
  FileAdoptRequestSchema,
  FileClaimRefSchema,
  FileClaimRequestSchema,
  FileClaimSchema,
  FileDiscardRequestSchema,
  FileDiscardResultSchema,
  FilePublishRequestSchema,
  FilePublishResultSchema,
  FileReadRequestSchema,
  FileRecordSchema,
  FileRenewRequestSchema,
  FileStatusRequestSchema,
  FileStatusSchema,
  FileWriteRequestSchema,
  FileWriteResultSchema,
} from "../files/schemas.js";

/** One GET route: `url` with path parameters `params` and query-string fields `query`, answered with `response`. */
export interface GetRoute {
  url: string;
  operationId: string;
  summary: string;
  params: z.ZodObject;
  query: z.ZodObject;
  response: z.ZodType;
  /** Calls the core (or the LangGraph saver over it) with the validated parameters. */
  handle(store: StateStore, input: { params: unknown; query: unknown }): Promise<unknown>;
}

export const ThreadStatusParamsSchema = z.object({ threadId: z.string().min(1) }).strict();
export const ThreadStatusQuerySchema = z
  .object({ keyPrefix: z.string().min(1).default("langgraph").meta({ description: "The saver's key prefix" }) })
  .strict();
/** `FencedCheckpointSaver.threadStatus` on the wire (docs/lifecycle.md). */
export const ThreadStatusSchema = z.discriminatedUnion("status", [
  z.object({ status: z.literal("idle") }),
  z.object({
    status: z.literal("busy"),
    owner: z.string(),
    runId: z.string().nullable(),
    since: z.number().nullable(),
    expiresAt: z.number(),
  }),
  z.object({ status: z.literal("interrupted"), interrupts: z.array(z.object({ id: z.string(), value: z.unknown() })) }),
]);

export const GET_ROUTES: readonly GetRoute[] = [
  {
    url: "/v1/threads/:threadId/status",
    operationId: "threadStatus",
    summary:
      "A LangGraph thread's status: idle, busy (owner, runId, since, expiresAt) or interrupted (the pending interrupts).",
    params: ThreadStatusParamsSchema,
    query: ThreadStatusQuerySchema,
    response: ThreadStatusSchema,
    async handle(store, input) {
      const params = ThreadStatusParamsSchema.parse(input.params);
      const query = ThreadStatusQuerySchema.parse(input.query);
      // LangGraph is an optional peer: the saver is loaded only when a thread is asked about.
      const { FencedCheckpointSaver } = await import("../langgraph/saver.js").catch(() => {
        throw new InvalidInputError({
          issues: [{ path: [], message: "thread status needs @langchain/langgraph: npm install @langchain/langgraph" }],
        });
      });
      return new FencedCheckpointSaver(store, { keyPrefix: query.keyPrefix }).threadStatus(params.threadId);
    },
  },
];

/** One JSON route: POST `url` with a body matching `body`, answered with `response`. */
export interface JsonRoute {
  url: string;
  /** The `StateStore` method this route calls, for the OpenAPI operationId and the metrics. */
  operationId: string;
  summary: string;
  body: z.ZodType;
  response: z.ZodType;
  /** Calls the core with the validated body. */
  handle(store: StateStore, body: unknown): Promise<unknown>;
}

/** Types `handle` by its schemas; Fastify has validated the body with `body` before `handle` runs. */
function route<B extends z.ZodType, R extends z.ZodType>(spec: {
  url: string;
  operationId: string;
  summary: string;
  body: B;
  response: R;
  handle(store: StateStore, body: z.output<B>): Promise<z.input<R>>;
}): JsonRoute {
  return spec as JsonRoute;
}

/** `{ key }`: the body of `/v1/read`. */
export const ReadRequestSchema = z.object({ key: KeySchema }).strict();
/** `/v1/list`'s answer: the page, and `seq`, the event-log position it reflects (one page is one snapshot). */
export const ListResultSchema = SnapshotSchema;
export const ReleaseResultSchema = z.object({ released: z.boolean() });
export const QueueHeartbeatResultSchema = z.object({ expiresAt: z.number().int() });
export const EventsResultSchema = z.object({ events: z.array(StateEventSchema) });

export const JSON_ROUTES: readonly JsonRoute[] = [
  route({
    url: "/v1/read",
    operationId: "read",
    summary: "A key's current record; a key never written reads { exists: false, version: 0 }.",
    body: ReadRequestSchema,
    response: StateRecordSchema,
    handle: (store, body) => store.read(body.key),
  }),
  route({
    url: "/v1/list",
    operationId: "list",
    summary:
      "Records under a prefix, by key (UTF-8 byte order), at one snapshot whose event-log position is seq; page with `after`.",
    body: ListRequestSchema,
    response: ListResultSchema,
    handle: (store, body) => store.listSnapshot(body),
  }),
  route({
    url: "/v1/read-many",
    operationId: "readMany",
    summary:
      "Up to 1,000 keys at one snapshot, in the order asked, with seq: the event-log position they reflect (a txn is in all of them or none).",
    body: ReadManyRequestSchema,
    response: SnapshotSchema,
    handle: (store, body) => store.readMany(body.keys),
  }),
  route({
    url: "/v1/commit",
    operationId: "commit",
    summary: "Commits one op under its preconditions: VERSION_CONFLICT (G1), FENCED (G2), replay by opId (G3).",
    body: CommitRequestSchema,
    response: CommitResultSchema,
    handle: (store, body) => store.commit(body),
  }),
  route({
    url: "/v1/txn",
    operationId: "txn",
    summary: "Commits several keys all-or-nothing (G4); the opId covers the whole txn.",
    body: TxnRequestSchema,
    response: TxnResultSchema,
    handle: (store, { requests, ...options }) => store.txn(requests, options),
  }),
  route({
    url: "/v1/claim",
    operationId: "claim",
    summary: "Claims a key; the returned epoch is the fencing token. CLAIM_HELD unless steal.",
    body: ClaimRequestSchema,
    response: ClaimSchema,
    handle: (store, body) => store.claim(body),
  }),
  route({
    url: "/v1/renew",
    operationId: "renew",
    summary: "Extends a live claim; FENCED when it was superseded, expired or released.",
    body: RenewRequestSchema,
    response: ClaimSchema,
    handle: (store, { ttlMs, ...ref }) => store.renew(ref, ttlMs),
  }),
  route({
    url: "/v1/release",
    operationId: "release",
    summary: "Releases a claim; released is false when it was no longer current.",
    body: ClaimRefSchema,
    response: ReleaseResultSchema,
    handle: async (store, body) => ({ released: await store.release(body) }),
  }),
  // ---- Work queue (docs/queue.md): a task is a key, a lease a claim on it, a completion a txn fenced by the lease.
  route({
    url: "/v1/queue/enqueue",
    operationId: "queueEnqueue",
    summary: "Appends a task at the queue's tail; the same opId enqueues once (created: false on a retry).",
    body: EnqueueRequestSchema,
    response: EnqueueResultSchema,
    handle: (store, { queue, payload, ...options }) => workQueue(store, queue).enqueue(payload, options),
  }),
  route({
    url: "/v1/queue/lease",
    operationId: "queueLease",
    summary:
      "Leases the oldest visible task nobody holds (a claim for visibilityMs); lease is null when there is none.",
    body: LeaseRequestSchema,
    response: LeaseResultSchema,
    handle: async (store, { queue, ...request }) => ({ lease: await workQueue(store, queue).lease(request) }),
  }),
  route({
    url: "/v1/queue/heartbeat",
    operationId: "queueHeartbeat",
    summary: "Extends a lease by visibilityMs; FENCED when it expired or was taken over.",
    body: HeartbeatRequestSchema,
    response: QueueHeartbeatResultSchema,
    handle: async (store, { lease, visibilityMs }) => ({
      expiresAt: await workQueue(store, lease.queue).heartbeat(lease, visibilityMs),
    }),
  }),
  route({
    url: "/v1/queue/complete",
    operationId: "queueComplete",
    summary:
      "Completes a leased task with its result and state writes in one txn; FENCED (nothing lands) for a lost lease.",
    body: CompleteRequestSchema,
    response: CompleteResultSchema,
    handle: (store, { lease, result, ...options }) =>
      workQueue(store, lease.queue).complete(lease, result ?? null, options),
  }),
  route({
    url: "/v1/queue/fail",
    operationId: "queueFail",
    summary:
      "Gives a leased task back: visible again after its backoff, or dead-lettered after maxAttempts; FENCED for a lost lease.",
    body: FailRequestSchema,
    response: FailResultSchema,
    handle: (store, { lease, error, ...options }) => workQueue(store, lease.queue).fail(lease, error, options),
  }),
  route({
    url: "/v1/queue/stats",
    operationId: "queueStats",
    summary: "How many tasks the queue has had, and how many are pending, done and dead.",
    body: QueueStatsRequestSchema,
    response: QueueStatsSchema,
    handle: (store, { queue }) => workQueue(store, queue).stats(),
  }),
  route({
    url: "/v1/events",
    operationId: "events",
    summary:
      "One page of the event log under a prefix, oldest first, from fromSeq (inclusive); live updates: GET /v1/watch.",
    body: EventsRequestSchema,
    response: EventsResultSchema,
    handle: async (store, { prefix, ...options }) => ({ events: await store.events(prefix, options) }),
  }),
  // The effect fence (docs/effects.md): the effect itself runs in the client, between these two calls.
  route({
    url: "/v1/effects/intent",
    operationId: "beginEffect",
    summary:
      "Records the intent to fire an effect under its guards: proceed, or the earlier attempt (done, failed, unknown). FENCED / VERSION_CONFLICT when a guard fails.",
    body: EffectIntentRequestSchema,
    response: EffectIntentSchema,
    handle: (store, body) => beginEffect(store, body),
  }),
  route({
    url: "/v1/effects/outcome",
    operationId: "finishEffect",
    summary: "Records the outcome (done or failed) of the effect attempt that /v1/effects/intent allowed.",
    body: EffectOutcomeRequestSchema,
    response: EffectOutcomeSchema,
    handle: (store, body) => finishEffect(store, body),
  }),
];

// ---- Fenced files (docs/files.md): served only when the coordinator is given a directory (`fenced serve --files-dir`).

/**
 * The `/v1/files/*` routes over one fenced directory. Each calls one `FencedFiles` method, which commits through the
 * same store; content travels as a string in `encoding` (`utf8` text, or `base64` for any bytes).
 */
export function fileRoutes(files: FencedFiles): JsonRoute[] {
  return [
    route({
      url: "/v1/files/read",
      operationId: "filesRead",
      summary:
        "A file's committed content and version; outsideEdit says the disk holds bytes that are no committed version.",
      body: FileReadRequestSchema,
      response: FileRecordSchema,
      handle: (_store, body) => files.read(body.path),
    }),
    route({
      url: "/v1/files/write",
      operationId: "filesWrite",
      summary:
        "Commits a file's next version, then replaces it on disk: VERSION_CONFLICT (details.outsideEdit for an outside edit), FENCED.",
      body: FileWriteRequestSchema,
      response: FileWriteResultSchema,
      handle: (_store, { path, content, encoding, ...options }) =>
        files.write(path, decodeContent(content, encoding), options),
    }),
    route({
      url: "/v1/files/publish",
      operationId: "filesPublish",
      summary: "Commits several files in one transaction, all or none visible (G4), then replaces each on disk.",
      body: FilePublishRequestSchema,
      response: FilePublishResultSchema,
      handle: (_store, body) => files.publish(body),
    }),
    route({
      url: "/v1/files/claim",
      operationId: "filesClaim",
      summary: "Claims a file; the returned epoch is the fencing token of its writes. CLAIM_HELD unless steal.",
      body: FileClaimRequestSchema,
      response: FileClaimSchema,
      handle: (_store, body) => files.claim(body),
    }),
    route({
      url: "/v1/files/renew",
      operationId: "filesRenew",
      summary: "Extends a live claim on a file; FENCED when it was superseded, expired or released.",
      body: FileRenewRequestSchema,
      response: FileClaimSchema,
      handle: (_store, { ttlMs, ...ref }) => files.renew(ref, ttlMs),
    }),
    route({
      url: "/v1/files/release",
      operationId: "filesRelease",
      summary: "Releases a claim on a file; released is false when it was no longer current.",
      body: FileClaimRefSchema,
      response: ReleaseResultSchema,
      handle: async (_store, body) => ({ released: await files.release(body) }),
    }),
    route({
      url: "/v1/files/adopt",
      operationId: "filesAdopt",
      summary:
        "Commits the bytes on disk (an outside edit) as the file's next version, fenced and versioned like a write.",
      body: FileAdoptRequestSchema,
      response: FileWriteResultSchema,
      handle: (_store, { path, ...options }) => files.adopt(path, options),
    }),
    route({
      url: "/v1/files/discard",
      operationId: "filesDiscard",
      summary: "Drops an outside edit: restores the committed version on disk (removes a file never committed).",
      body: FileDiscardRequestSchema,
      response: FileDiscardResultSchema,
      handle: (_store, body) => files.discard(body.path),
    }),
    route({
      url: "/v1/files/status",
      operationId: "filesStatus",
      summary:
        "Every file's disk state against its committed version: current, stale, missing, outside-edit, untracked.",
      body: FileStatusRequestSchema,
      response: FileStatusSchema,
      handle: async () => ({ files: await files.status() }),
    }),
  ];
}
