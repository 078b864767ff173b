/**
 * The one commit function (SPEC §3). Every write in fenced-state — the core API, the LangGraph saver, reducers and
 * store, the HTTP coordinator and every adapter — ends here. Inside one backend transaction it checks, in order:
 * idempotency (G3), the epoch fence (G2), the expected version (G1); then applies the ops, writes the records, the
 * idempotency record and the event-log entries (G4). A rejected commit writes only its event-log entry (G6).
 */
import type { Backend, BackendTx, KeyState, StoredClaim } from "./backend.js";
import {
  FencedError,
  IdempotencyMismatchError,
  InvalidInputError,
  VersionConflictError,
  type ErrorDetails,
  type InputIssue,
} from "./errors.js";
import { payloadHash, type Json } from "./json.js";
import { applyOp } from "./ops.js";
import {
  CommitRequestSchema,
  TxnRequestSchema,
  type CommitRequest,
  type CommitResult,
  type Limits,
  type Outcome,
  type StateEvent,
  type TxnResult,
} from "./schemas.js";
import { checkKey, checkValueSize, parseInput } from "./validate.js";

/** What `commit` needs from the store it runs in. */
export interface CommitContext {
  backend: Backend;
  limits: Limits;
  now(): number;
}

/** Extra writes that must land in the same transaction as the commit (the LangGraph saver's checkpoint rows). */
export type WithinCommit = (tx: BackendTx, results: CommitResult[]) => Promise<void> | void;

type Decision =
  | { kind: "committed"; result: TxnResult }
  | { kind: "replayed"; result: TxnResult }
  | { kind: "conflict"; details: ErrorDetails["VERSION_CONFLICT"] }
  | { kind: "fenced"; details: ErrorDetails["FENCED"] }
  | { kind: "mismatch"; opId: string }
  | { kind: "invalid"; issues: InputIssue[] };

/**
 * Commits one request. Throws `VersionConflictError`, `FencedError`, `IdempotencyMismatchError`,
 * `InvalidInputError`, `PayloadTooLargeError` or `UnavailableError`; on any of them nothing was applied.
 */
export async function commit(ctx: CommitContext, request: CommitRequest, within?: WithinCommit): Promise<CommitResult> {
  const req = parseInput(CommitRequestSchema, request);
  const { opId, ...rest } = req;
  const { results, replayed } = await commitTxn(ctx, [rest], opId, within);
  return { ...results[0]!, replayed };
}

/** Commits several requests on distinct keys, all or nothing. The opId covers the whole txn. */
export async function txn(
  ctx: CommitContext,
  requests: Omit<CommitRequest, "opId">[],
  options: { opId?: string } = {},
  within?: WithinCommit,
): Promise<TxnResult> {
  const parsed = parseInput(TxnRequestSchema, { requests, ...options });
  if (parsed.requests.length > ctx.limits.maxTxnSize) {
    throw new InvalidInputError({ issues: [{ path: ["requests"], message: `more than ${ctx.limits.maxTxnSize} requests` }] });
  }
  return commitTxn(ctx, parsed.requests, parsed.opId, within);
}

/** The shared body of `commit` and `txn`, on already-parsed requests. */
async function commitTxn(
  ctx: CommitContext,
  requests: Omit<CommitRequest, "opId">[],
  opId: string | undefined,
  within: WithinCommit | undefined,
): Promise<TxnResult> {
  requests.forEach((r, i) => checkKey(r.key, ctx.limits, requests.length > 1 ? ["requests", i, "key"] : ["key"]));
  const hash = opId === undefined ? undefined : payloadHash(requests);

  const decision = await ctx.backend.transact<Decision>(async (tx) => {
    await tx.lock?.({ keys: requests.map((r) => r.key), ...(opId !== undefined && { opId }) });
    // Read the clock after any lock wait, so lease expiry is judged at the time the commit decides.
    const now = ctx.now();
    if (opId !== undefined) {
      const first = await tx.getIdempotency(opId);
      if (first) {
        if (first.hash !== hash) return { kind: "mismatch", opId };
        const result = JSON.parse(first.resultText) as TxnResult;
        for (const r of result.results) {
          await tx.appendEvent(event(now, requests.find((q) => q.key === r.key)!, r.version, r.epoch, opId, "replayed"));
        }
        return { kind: "replayed", result: { ...result, replayed: true } };
      }
    }

    const states: KeyState[] = [];
    for (const req of requests) {
      const state = await tx.getKeyState(req.key);
      const currentEpoch = state.claim?.epoch ?? 0;
      const actualVersion = state.record?.version ?? 0;
      const reason = fenceReason(req.epoch, state.claim, now);
      if (reason) {
        await tx.appendEvent(event(now, req, actualVersion, currentEpoch, opId, "fenced"));
        return { kind: "fenced", details: { key: req.key, heldEpoch: req.epoch ?? null, currentEpoch, reason } };
      }
      if (req.expectVersion !== undefined && req.expectVersion !== actualVersion) {
        await tx.appendEvent(event(now, req, actualVersion, currentEpoch, opId, "conflict"));
        return { kind: "conflict", details: { key: req.key, expectedVersion: req.expectVersion, actualVersion } };
      }
      states.push(state);
    }

    // Decide every op before writing any: a txn is all-or-nothing even when a later op does not apply (G4).
    const writes: { req: Omit<CommitRequest, "opId">; valueText: string | null; version: number; epoch: number }[] = [];
    for (const [i, req] of requests.entries()) {
      const { record, claim } = states[i]!;
      const needsCurrent = req.op.type !== "set" && req.op.type !== "delete";
      const current = !needsCurrent || record?.valueText == null ? undefined : (JSON.parse(record.valueText) as Json);
      const applied = applyOp(current, req.op);
      if ("issue" in applied) {
        const path = requests.length > 1 ? ["requests", i, ...applied.issue.path] : applied.issue.path;
        return { kind: "invalid", issues: [{ ...applied.issue, path }] };
      }
      const valueText = applied.exists ? JSON.stringify(applied.value) : null;
      if (valueText !== null) checkValueSize(valueText, ctx.limits);
      writes.push({ req, valueText, version: (record?.version ?? 0) + 1, epoch: claim?.epoch ?? 0 });
    }

    const results: CommitResult[] = [];
    for (const { req, valueText, version, epoch } of writes) {
      await tx.putRecord({ key: req.key, valueText, version, epoch, updatedAt: now });
      const seq = await tx.appendEvent(event(now, req, version, epoch, opId, "committed"));
      results.push({ key: req.key, exists: valueText !== null, version, epoch, replayed: false, seq });
    }
    const result: TxnResult = { results, replayed: false };
    if (opId !== undefined) {
      await tx.putIdempotency({ opId, hash: hash!, resultText: JSON.stringify(result), createdAt: now });
    }
    if (within) await within(tx, results);
    return { kind: "committed", result };
  });

  switch (decision.kind) {
    case "committed":
    case "replayed":
      return decision.result;
    case "conflict":
      throw new VersionConflictError(decision.details);
    case "fenced":
      throw new FencedError(decision.details);
    case "mismatch":
      throw new IdempotencyMismatchError({ opId: decision.opId });
    case "invalid":
      throw new InvalidInputError({ issues: decision.issues });
  }
}

/**
 * Why a commit presenting `epoch` must be rejected, or `undefined` when it may proceed (G2). A presented epoch must
 * be the key's current epoch under a live claim; without one, no claim may be live: there is no bypass.
 */
export function fenceReason(
  epoch: number | undefined,
  claim: StoredClaim | undefined,
  now: number,
): ErrorDetails["FENCED"]["reason"] | undefined {
  const current = claim?.epoch ?? 0;
  const live = claim !== undefined && claim.owner !== null && claim.expiresAt > now;
  if (epoch === undefined) return live ? "no-epoch" : undefined;
  if (epoch < current) return "superseded";
  if (epoch > current) return "unknown-epoch";
  if (current === 0) return undefined; // epoch 0 is "never claimed": the same as presenting none.
  if (claim!.owner === null) return "released";
  if (!live) return "expired";
  return undefined;
}

/** The event-log entry for one key's outcome. */
function event(
  ts: number,
  req: Omit<CommitRequest, "opId">,
  version: number,
  epoch: number,
  opId: string | undefined,
  outcome: Outcome,
): Omit<StateEvent, "seq"> {
  const e: Omit<StateEvent, "seq"> = { ts, key: req.key, version, epoch, outcome };
  if (req.owner !== undefined) e.owner = req.owner;
  if (opId !== undefined) e.opId = opId;
  return e;
}
