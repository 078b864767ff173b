/**
 * Claims (leases) and their epochs (G2). Every claim and reclaim takes a new epoch from the store-wide counter
 * (`BackendTx.nextEpoch`), so an epoch names one claim of one key: it is the fencing token a holder presents on each
 * commit, and it is worth nothing on any other key. A holder whose claim was stolen, expired or released is `FENCED`
 * at its next commit, even when the key's version never moved.
 *
 * Like `commit`, each operation first holds the key (`tx.lock`, on backends that lock per key), then reads the clock:
 * expiry is judged at the moment the key is held, so a renew that waited on the lock past its lease is `FENCED`
 * (expired) instead of reviving it.
 */
import type { BackendTx, KeyState } from "./backend.js";
import type { CommitContext } from "./commit.js";
import { fenceReason } from "./commit.js";
import { ClaimHeldError, FencedError } from "./errors.js";
import {
  ClaimRefSchema,
  ClaimRequestSchema,
  RenewRequestSchema,
  type Claim,
  type ClaimRef,
  type ClaimRequest,
} from "./schemas.js";
import { checkKey, parseInput } from "./validate.js";

/** Claims `key` for `owner` for `ttlMs`. Throws `ClaimHeldError` while another owner's claim is live, unless `steal`. */
export async function claim(ctx: CommitContext, request: ClaimRequest): Promise<Claim> {
  const req = parseInput(ClaimRequestSchema, request);
  checkKey(req.key, ctx.limits);
  const outcome = await ctx.backend.transact(async (tx) => {
    const {
      now,
      state: { claim: current, record },
    } = await holdKey(ctx, tx, req.key);
    const live = current !== undefined && current.owner !== null && current.expiresAt > now;
    if (live && current.owner !== req.owner && !req.steal) {
      return { held: { key: req.key, owner: current.owner!, expiresAt: current.expiresAt } };
    }
    const epoch = await tx.nextEpoch(current?.epoch ?? 0);
    const next: Claim = { key: req.key, owner: req.owner, epoch, expiresAt: now + req.ttlMs };
    await tx.putClaim(next);
    await tx.appendEvent({
      ts: now,
      key: req.key,
      version: record?.version ?? 0,
      epoch: next.epoch,
      owner: req.owner,
      outcome: "claimed",
    });
    return { claim: next };
  });
  if ("held" in outcome) throw new ClaimHeldError(outcome.held!);
  return outcome.claim;
}

/** Extends a live claim. Throws `FencedError` when the claim was superseded, expired or released. */
export async function renew(ctx: CommitContext, ref: ClaimRef, ttlMs: number): Promise<Claim> {
  const req = parseInput(RenewRequestSchema, { ...ref, ttlMs });
  checkKey(req.key, ctx.limits); // like claim, commit and read: a key over the store's limit is INVALID_INPUT everywhere
  const outcome = await ctx.backend.transact(async (tx) => {
    const {
      now,
      state: { claim: current },
    } = await holdKey(ctx, tx, req.key);
    const reason = fenceReason(req.epoch, current, now) ?? (current?.owner !== req.owner ? "superseded" : undefined);
    if (reason) return { fenced: { key: req.key, heldEpoch: req.epoch, currentEpoch: current?.epoch ?? 0, reason } };
    const next: Claim = { key: req.key, owner: req.owner, epoch: req.epoch, expiresAt: now + req.ttlMs };
    await tx.putClaim(next);
    return { claim: next };
  });
  if ("fenced" in outcome) throw new FencedError(outcome.fenced!);
  return outcome.claim;
}

/**
 * Releases a claim so others may claim at once. Returns `false` (and changes nothing) when this claim is no longer
 * the current one: it was already superseded or released, which its holder learns from its next commit anyway.
 */
export async function release(ctx: CommitContext, ref: ClaimRef): Promise<boolean> {
  const req = parseInput(ClaimRefSchema, ref);
  checkKey(req.key, ctx.limits);
  return ctx.backend.transact(async (tx) => {
    const {
      now,
      state: { claim: current, record },
    } = await holdKey(ctx, tx, req.key);
    if (!current || current.epoch !== req.epoch || current.owner !== req.owner) return false;
    await tx.putClaim({ key: req.key, owner: null, epoch: current.epoch, expiresAt: 0 });
    await tx.appendEvent({
      ts: now,
      key: req.key,
      version: record?.version ?? 0,
      epoch: current.epoch,
      owner: req.owner,
      outcome: "released",
    });
    return true;
  });
}

/** The key's current claim, or `null` when none is live. */
export async function currentClaim(ctx: CommitContext, key: string): Promise<Claim | null> {
  const c = await ctx.backend.getClaim(key);
  if (!c || c.owner === null || c.expiresAt <= ctx.now()) return null;
  return { key: c.key, owner: c.owner, epoch: c.epoch, expiresAt: c.expiresAt };
}

/**
 * Takes the key's lock and its claim's (where the backend locks per key), then reads the clock and the key: the order
 * `commit` uses.
 */
async function holdKey(ctx: CommitContext, tx: BackendTx, key: string): Promise<{ now: number; state: KeyState }> {
  await tx.lock?.({ keys: [key], claims: true });
  const now = ctx.now();
  return { now, state: await tx.getKeyState(key) };
}
