/**
 * Fast paths for the commit schemas (schemas.ts). zod stays the one definition of what a request may be and the only
 * source of error messages; these functions only recognise the common, plainly valid shapes — ASCII keys and ids,
 * `set`, `delete` and `increment` ops, whole-number versions and epochs — and answer the copy zod would have made, or
 * `undefined` for anything else, which then goes to zod. They never accept what zod refuses:
 * test/core/fast-parse.test.ts checks, over generated inputs, that whatever they accept zod accepts with the same
 * output.
 *
 * Why: in a running graph a zod parse of a one-key commit cost 10–25 µs (measured in a 3-node `invoke`) against
 * ~2 µs in a loop — zod's generic parse is long and, with many schemas in one process, polymorphic — and each
 * LangGraph step commits twice.
 */
import type { z } from "zod";
import { findNonJson, isJsonObject } from "./json.js";
import {
  CommitRequestSchema,
  DEFAULT_LIMITS,
  MAX_KEY_LENGTH,
  TxnOptionsSchema,
  TxnRequestSchema,
  type CommitRequest,
  type Guard,
  type Op,
  type TxnRequest,
} from "./schemas.js";

/** Printable ASCII but space and `/`, in `/`-separated non-empty segments: a key every check of KeySchema passes. */
const PLAIN_KEY = /^[!-.0-~]+(?:\/[!-.0-~]+)*$/;
/** Printable ASCII: an opId or owner every check passes (no NUL, well-formed). */
const PLAIN_TEXT = /^[ -~]{1,256}$/;

type Fields = Record<string, unknown>;

/** `value` is a plain object whose own keys are all in `allowed`, none of them `undefined`. */
function plainWith(value: unknown, allowed: readonly string[]): value is Fields {
  if (!isJsonObject(value)) return false;
  for (const k in value) {
    if (!Object.hasOwn(value, k) || !allowed.includes(k) || value[k] === undefined) return false;
  }
  return true;
}

function isPlainKey(v: unknown): v is string {
  return typeof v === "string" && v.length <= MAX_KEY_LENGTH && PLAIN_KEY.test(v);
}

function isCount(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}

function isPlainText(v: unknown): v is string {
  return typeof v === "string" && PLAIN_TEXT.test(v);
}

const OP_FIELDS = ["type", "value", "by"] as const;

function fastOp(v: unknown): Op | undefined {
  if (!plainWith(v, OP_FIELDS)) return undefined;
  const fields = Object.keys(v).length;
  switch (v.type) {
    case "set":
      return fields === 2 && "value" in v && findNonJson(v.value) === null
        ? { type: "set", value: v.value as never }
        : undefined;
    case "delete":
      return fields === 1 ? { type: "delete" } : undefined;
    case "increment":
      return fields === 2 && Number.isSafeInteger(v.by) ? { type: "increment", by: v.by as number } : undefined;
    default:
      return undefined;
  }
}

const GUARD_FIELDS = ["key", "epoch", "version"] as const;

function fastGuards(v: unknown): Guard[] | undefined {
  if (!Array.isArray(v) || v.length > DEFAULT_LIMITS.maxTxnSize) return undefined;
  const guards: Guard[] = [];
  for (const g of v) {
    if (!plainWith(g, GUARD_FIELDS) || !isPlainKey(g.key) || Object.keys(g).length !== 2) return undefined;
    if ("epoch" in g && (g.epoch === null || isCount(g.epoch))) guards.push({ key: g.key, epoch: g.epoch });
    else if ("version" in g && isCount(g.version)) guards.push({ key: g.key, version: g.version });
    else return undefined;
  }
  return guards;
}

const ITEM_FIELDS = ["key", "op", "expectVersion", "epoch", "owner"] as const;
const COMMIT_FIELDS = [...ITEM_FIELDS, "opId", "guards"] as const;

/** The fields a commit and a txn item share, copied; `undefined` unless every one is plainly valid. */
function fastItem(v: Fields): TxnRequest["requests"][number] | undefined {
  if (!isPlainKey(v.key)) return undefined;
  const op = fastOp(v.op);
  if (!op) return undefined;
  const item: TxnRequest["requests"][number] = { key: v.key, op };
  if ("expectVersion" in v) {
    if (!isCount(v.expectVersion)) return undefined;
    item.expectVersion = v.expectVersion;
  }
  if ("epoch" in v) {
    if (!isCount(v.epoch)) return undefined;
    item.epoch = v.epoch;
  }
  if ("owner" in v) {
    if (!isPlainText(v.owner)) return undefined;
    item.owner = v.owner;
  }
  return item;
}

/** The opId and guards a commit or txn carries, copied into `into`; `false` unless both are plainly valid. */
function fastOptions(v: Fields, into: { opId?: string; guards?: Guard[] }): boolean {
  if ("opId" in v) {
    if (!isPlainText(v.opId)) return false;
    into.opId = v.opId;
  }
  if ("guards" in v) {
    const guards = fastGuards(v.guards);
    if (!guards) return false;
    into.guards = guards;
  }
  return true;
}

/** `CommitRequestSchema`'s output for a plainly valid request, or `undefined` (then parse with zod). */
export function fastCommitRequest(v: unknown): CommitRequest | undefined {
  if (!plainWith(v, COMMIT_FIELDS)) return undefined;
  const item: CommitRequest | undefined = fastItem(v);
  return item && fastOptions(v, item) ? item : undefined;
}

const TXN_FIELDS = ["requests", "opId", "guards"] as const;

/** `TxnRequestSchema`'s output for a plainly valid txn, or `undefined` (then parse with zod). */
export function fastTxnRequest(v: unknown): TxnRequest | undefined {
  if (!plainWith(v, TXN_FIELDS) || !Array.isArray(v.requests)) return undefined;
  const { requests } = v;
  if (requests.length < 1 || requests.length > DEFAULT_LIMITS.maxTxnSize) return undefined;
  const items: TxnRequest["requests"] = [];
  const keys = new Set<string>();
  for (const r of requests) {
    const item = plainWith(r, ITEM_FIELDS) ? fastItem(r) : undefined;
    if (!item || keys.has(item.key)) return undefined;
    keys.add(item.key);
    items.push(item);
  }
  const txn: TxnRequest = { requests: items };
  return fastOptions(v, txn) ? txn : undefined;
}

const OPTION_FIELDS = ["opId", "guards"] as const;

/** `TxnOptionsSchema`'s output for plainly valid options, or `undefined` (then parse with zod). */
export function fastTxnOptions(v: unknown): { opId?: string; guards?: Guard[] } | undefined {
  const options: { opId?: string; guards?: Guard[] } = {};
  return plainWith(v, OPTION_FIELDS) && fastOptions(v, options) ? options : undefined;
}

const FAST_PATHS = new Map<unknown, (input: unknown) => unknown>([
  [CommitRequestSchema, fastCommitRequest],
  [TxnRequestSchema, fastTxnRequest],
  [TxnOptionsSchema, fastTxnOptions],
]);

/** What `schema` would answer for `input`, when `schema` has a fast path and it recognises `input`; else `undefined`. */
export function fastParse<S extends z.ZodType>(schema: S, input: unknown): z.output<S> | undefined {
  return FAST_PATHS.get(schema)?.(input) as z.output<S> | undefined;
}
