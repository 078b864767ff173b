/**
 * The MCP tools of `fenced mcp` (docs/mcp.md): one row per tool, naming the core zod schema it accepts and the one
 * `StateStore` call it makes, like the coordinator's route table (src/server/routes.ts). The input schemas are the
 * core's, so a tool accepts exactly what the core does; the JSON Schema a client lists is generated from them.
 */
import { z } from "zod";
import { beginEffect, EffectIntentRequestSchema, EffectOutcomeRequestSchema, finishEffect } from "../core/effects.js";
import { mergePatch } from "../core/json.js";
import {
  ClaimRefSchema,
  ClaimRequestSchema,
  CommitRequestSchema,
  JsonSchema,
  KeySchema,
  ListRequestSchema,
  PrefixSchema,
  ReadManyRequestSchema,
  RenewRequestSchema,
} from "../core/schemas.js";
import type { StateStore } from "../core/store.js";

/** One MCP tool: its name, what it tells the model, its input schema and the core call it makes. */
export interface McpTool {
  name: string;
  description: string;
  input: z.ZodObject;
  /** Calls the core with the validated arguments; the answer is the tool's structured content. */
  handle(store: StateStore, args: unknown): Promise<object>;
}

/** Types `handle` by the input schema; the server has validated the arguments with `input` before `handle` runs. */
function tool<I extends z.ZodObject>(spec: {
  name: string;
  description: string;
  input: I;
  handle(store: StateStore, args: z.output<I>): Promise<object>;
}): McpTool {
  return spec as McpTool;
}

const ReadInput = z.object({ key: KeySchema }).strict();

/** `update`: a JSON Merge Patch (RFC 7386) applied to the current value, committed with the version it was read at. */
export const UpdateInputSchema = z
  .object({
    key: KeySchema,
    patch: JsonSchema.meta({
      description: "JSON Merge Patch (RFC 7386): objects merge, null deletes a member, anything else replaces",
    }),
    epoch: z.number().int().min(0).optional().meta({ description: "Fencing token, when you hold a claim on the key" }),
    owner: z.string().min(1).max(256).optional(),
    maxAttempts: z
      .number()
      .int()
      .min(1)
      .max(50)
      .default(10)
      .meta({ description: "Conflicts retried before VERSION_CONFLICT is returned" }),
  })
  .strict();

/** `events`: the event log after `sinceSeq` (the MCP form of watch: poll with the returned `nextSinceSeq`). */
export const EventsInputSchema = z
  .object({
    prefix: PrefixSchema.default(""),
    sinceSeq: z.number().int().min(0).default(0).meta({ description: "Return events with seq greater than this" }),
    limit: z.number().int().min(1).max(1000).default(100),
  })
  .strict();

export const MCP_TOOLS: readonly McpTool[] = [
  tool({
    name: "read",
    description:
      "Read a key: its value, version and epoch. A key never written reads { exists: false, version: 0 }. Pass the version as expectVersion when you commit what you derived from it.",
    input: ReadInput,
    handle: (store, { key }) => store.read(key),
  }),
  tool({
    name: "read_many",
    description:
      "Read several keys (up to 1,000) at one snapshot: records in the order asked, and seq, the event-log position they reflect. Use it when you decide from more than one key: a txn is in all of them or none, never in part. Each record's version is what to pass as expectVersion or in a { key, version } guard.",
    input: ReadManyRequestSchema,
    handle: (store, { keys }) => store.readMany(keys),
  }),
  tool({
    name: "commit",
    description:
      "Commit one op (set, delete, increment, append, merge) to a key. expectVersion: the version you read (0: must not exist) — VERSION_CONFLICT if it moved. epoch: your claim's fencing token — FENCED if your claim is gone. opId makes a retry safe. guards: preconditions on other keys ({ key, version } or { key, epoch }).",
    input: CommitRequestSchema,
    handle: (store, request) => store.commit(request),
  }),
  tool({
    name: "update",
    description:
      "Apply a JSON Merge Patch to a key's current value: read, merge, commit with the version read, retrying conflicts. Use it for edits that do not depend on what others wrote; use read + commit with expectVersion when they do.",
    input: UpdateInputSchema,
    handle: (store, { key, patch, maxAttempts, ...options }) =>
      store.update(key, (current) => mergePatch(current, patch), { ...options, retries: maxAttempts - 1 }),
  }),
  tool({
    name: "claim",
    description:
      "Claim a key for ttlMs milliseconds. The returned epoch is your fencing token: pass it as epoch on commits, or in a guard. CLAIM_HELD while another owner holds it, unless steal.",
    input: ClaimRequestSchema,
    handle: (store, request) => store.claim(request),
  }),
  tool({
    name: "renew",
    description:
      "Extend your live claim by ttlMs. FENCED when it was superseded, expired or released: stop the work it covered.",
    input: RenewRequestSchema,
    handle: (store, { ttlMs, ...ref }) => store.renew(ref, ttlMs),
  }),
  tool({
    name: "release",
    description: "Release your claim. released is false when it was no longer current.",
    input: ClaimRefSchema.strict(),
    handle: async (store, ref) => ({ released: await store.release(ref) }),
  }),
  tool({
    name: "list",
    description:
      "List records under a prefix, by key, at one snapshot (seq: its event-log position). Page with after: pass the returned nextAfter until it is absent; each page is its own snapshot.",
    input: ListRequestSchema,
    handle: async (store, query) => {
      const { seq, records } = await store.listSnapshot(query);
      const full = records.length === query.limit;
      return { seq, records, ...(full && records.length > 0 && { nextAfter: records.at(-1)!.key }) };
    },
  }),
  tool({
    name: "events",
    description:
      "Recent commit outcomes (committed, conflict, fenced, replayed, claimed, released) under a prefix, after sinceSeq. Poll with the returned nextSinceSeq to watch.",
    input: EventsInputSchema,
    handle: async (store, { prefix, sinceSeq, limit }) => {
      const events = await store.events(prefix, { fromSeq: sinceSeq + 1, limit });
      return { events, nextSinceSeq: events.at(-1)?.seq ?? sinceSeq };
    },
  }),
  tool({
    name: "effect_begin",
    description:
      "Before an external side effect (email, webhook, payment): record the intent under guards (the versions you read, the claims you hold). proceed: true — fire it now, then call effect_finish with the attempt. proceed: false — an earlier attempt exists (status done, failed or unknown): do not fire. VERSION_CONFLICT or FENCED — your inputs moved or your claim is gone: do not fire.",
    input: EffectIntentRequestSchema,
    handle: (store, request) => beginEffect(store, request),
  }),
  tool({
    name: "effect_finish",
    description:
      "After firing the side effect effect_begin allowed: record its outcome (done with a result, or failed with an error) for the attempt effect_begin returned.",
    input: EffectOutcomeRequestSchema,
    handle: (store, request) => finishEffect(store, request),
  }),
];
