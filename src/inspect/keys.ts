/** Keys for the inspector: a page of records under a prefix with their claims, and one key in full. */
import type { Backend, StoredClaim, StoredRecord } from "../core/backend.js";
import type { Json } from "../core/json.js";
import type { KeysQuery } from "./schemas.js";

/** Longest value preview in a listing, in characters of its JSON text. */
const PREVIEW_CHARS = 160;

/** A claim as the page shows it: `live` says whether it still fences (held, not expired). */
export interface ClaimView {
  owner: string | null;
  epoch: number;
  expiresAt: number;
  live: boolean;
}

/** One key in a listing. */
export interface KeyRow {
  key: string;
  exists: boolean;
  version: number;
  epoch: number;
  updatedAt: number;
  /** The start of the value's JSON text; `null` for a deleted key. */
  preview: string | null;
  /** Size of the value's JSON text in bytes. */
  bytes: number;
  claim: ClaimView | null;
}

/** A page of keys; `next` is the `after` cursor of the next page, `null` after the last. */
export interface KeysPage {
  keys: KeyRow[];
  next: string | null;
}

/** One key with its whole value (absent for a deleted key). */
export interface KeyDetail extends Omit<KeyRow, "preview"> {
  value?: Json;
}

/** One page of keys under `q.prefix`, deleted ones included (a tombstone keeps its version and its history). */
export async function listKeys(backend: Backend, q: KeysQuery, now: number): Promise<KeysPage> {
  const rows = await backend.listRecords({
    prefix: q.prefix,
    limit: q.limit,
    includeDeleted: true,
    ...(q.after !== undefined && { after: q.after }),
  });
  const claims = await Promise.all(rows.map((r) => backend.getClaim(r.key)));
  const keys = rows.map((r, i): KeyRow => {
    const preview =
      r.valueText === null
        ? null
        : r.valueText.length > PREVIEW_CHARS
          ? `${r.valueText.slice(0, PREVIEW_CHARS)}…`
          : r.valueText;
    return {
      ...base(r),
      preview,
      bytes: r.valueText === null ? 0 : Buffer.byteLength(r.valueText),
      claim: claimView(claims[i], now),
    };
  });
  return { keys, next: rows.length === q.limit ? rows[rows.length - 1]!.key : null };
}

/** One key with its whole value and claim; `undefined` when it was never written and never claimed. */
export async function readKey(backend: Backend, key: string, now: number): Promise<KeyDetail | undefined> {
  const [record, claim] = await Promise.all([backend.getRecord(key), backend.getClaim(key)]);
  if (!record && !claim) return undefined;
  const detail: KeyDetail = record
    ? {
        ...base(record),
        bytes: record.valueText === null ? 0 : Buffer.byteLength(record.valueText),
        claim: claimView(claim, now),
      }
    : { key, exists: false, version: 0, epoch: claim!.epoch, updatedAt: 0, bytes: 0, claim: claimView(claim, now) };
  if (record?.valueText != null) detail.value = JSON.parse(record.valueText) as Json;
  return detail;
}

/** A stored claim as shown; a released claim row (owner `null`) still tells the epoch. */
export function claimView(claim: StoredClaim | undefined, now: number): ClaimView | null {
  if (!claim) return null;
  return {
    owner: claim.owner,
    epoch: claim.epoch,
    expiresAt: claim.expiresAt,
    live: claim.owner !== null && claim.expiresAt > now,
  };
}

function base(r: StoredRecord): Pick<KeyRow, "key" | "exists" | "version" | "epoch" | "updatedAt"> {
  return { key: r.key, exists: r.valueText !== null, version: r.version, epoch: r.epoch, updatedAt: r.updatedAt };
}
