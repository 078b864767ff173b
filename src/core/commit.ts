/**
 * The one commit function (docs/design.md §3). Every write in fenced-state — the core API, the LangGraph saver, reducers and
 * store, the HTTP coordinator and every adapter — ends here, and so does every fencing and version decision. Inside
 * one backend transaction it first takes the locks of every key it names (written keys and guard keys, in one global
 * order, on backends that lock per key), then reads the clock, so lease expiry is judged at the time the keys are
 * held. Then it checks, in order:
 *   1. idempotency (G3): a known opId replays its first result (or is `IDEMPOTENCY_MISMATCH`), whatever came later;
 *   2. guards, in request order: `{ key, epoch }` by `fenceReason` (`FENCED`), `{ key, version }` (`VERSION_CONFLICT`);
 *   3. per written key, in request order: its epoch fence (G2, `fenceReason`), then its expected version (G1);
 *   4. every op applies (an op that does not is `INVALID_INPUT`);
 * then writes the records, the idempotency record and the event-log entries (G4). A rejected commit writes only the
 * event-log entry of the check that failed (G6): `fenced` or `conflict`, on the key that failed it.
 */
import { isPending, type Awaitable, type Backend, type BackendTx, type KeyState, type StoredClaim } from "./backend.js";
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
  TxnOptionsSchema,
  TxnRequestSchema,
  type CommitRequest,
  type Guard,
  type CommitResult,
  type Limits,
  type Outcome,
  type StateEvent,
  type TxnRequest,
  type TxnResult,
} from "./schemas.js";
import { checkKey, checkValueSize, parseInput } from "./validate.js";

/** What `commit` needs from the store it runs in. */
export interface CommitContext {
  backend: Backend;
  limits: Limits;
  now(): number;
}

/**
 * Extra rows that must land in the same transaction as a commit (the LangGraph saver's checkpoint rows). Not public:
 * only `commitWithRows` takes one, and it runs after every check has passed, so it stores and never decides.
 */
export type WithinCommit = (tx: BackendTx, results: readonly Written[]) => Promise<void> | void;

/** What a commit wrote to one key, as its extra rows see it: the seq may be answered only at COMMIT (`appendEvent`). */
export type Written = Omit<CommitResult, "seq">;

/** One request of a txn: a commit without its own opId or guards (the txn carries those). */
export type TxnItem = TxnRequest["requests"][number];

type Decision =
  | { kind: "committed"; result: TxnResult; seqs: Awaitable<number>[] }
  | { kind: "replayed"; result: TxnResult }
  | { kind: "conflict"; details: ErrorDetails["VERSION_CONFLICT"] }
  | { kind: "fenced"; details: ErrorDetails["FENCED"] }
  | { kind: "mismatch"; opId: string }
  | { kind: "invalid"; issues: InputIssue[] };

/**
 * Commits one request. Throws `VersionConflictError`, `FencedError`, `IdempotencyMismatchError`,
 * `InvalidInputError`, `PayloadTooLargeError` or `UnavailableError`; on any of them nothing was applied.
 */
export function commit(ctx: CommitContext, request: CommitRequest): Promise<CommitResult> {
  // Not async: commitTxn's promise is the commit's own (one promise fewer per commit); bad input still rejects.
  try {
    const { opId, guards, ...rest } = parseInput(CommitRequestSchema, request);
    return commitTxn(ctx, { requests: [rest], opId, guards: guards ?? [] }, undefined, oneResult);
  } catch (err) {
    return Promise.reject(err);
  }
}

/** A one-request txn's result as `commit` answers it. */
const oneResult = ({ results, replayed }: TxnResult): CommitResult => ({ ...results[0]!, replayed });
const wholeTxn = (result: TxnResult): TxnResult => result;

/** Commits several requests on distinct keys, all or nothing. The opId and the guards cover the whole txn. */
export async function txn(
  ctx: CommitContext,
  requests: TxnItem[],
  options: { opId?: string; guards?: Guard[] } = {},
): Promise<TxnResult> {
  const parsed = parseInput(TxnRequestSchema, { requests, ...options });
  return commitTxn(ctx, checkTxnSize(ctx, { ...parsed, guards: parsed.guards ?? [] }), undefined, wholeTxn);
}

/**
 * @internal The LangGraph saver's facet (reached through `commitWithRows` in store.ts, not exported from the package
 * root): a txn of zero or more requests under `guards`, whose extra rows `rows` writes in the same transaction once
 * every check has passed. Zero requests with guards is how pending writes are fenced by a run claim they do not write.
 */
export async function commitWithinTxn(
  ctx: CommitContext,
  request: { requests: TxnItem[]; guards?: Guard[]; opId?: string },
  rows: WithinCommit,
): Promise<TxnResult> {
  const { requests, ...options } = request;
  const parsed =
    requests.length > 0
      ? parseInput(TxnRequestSchema, request)
      : { requests, ...parseInput(TxnOptionsSchema, options) };
  return commitTxn(ctx, checkTxnSize(ctx, { ...parsed, guards: parsed.guards ?? [] }), rows, wholeTxn);
}

interface ParsedTxn {
  requests: TxnItem[];
  opId?: string | undefined;
  guards: Guard[];
}

function checkTxnSize(ctx: CommitContext, txn: ParsedTxn): ParsedTxn {
  if (txn.requests.length > ctx.limits.maxTxnSize) {
    throw new InvalidInputError({
      issues: [{ path: ["requests"], message: `more than ${ctx.limits.maxTxnSize} requests` }],
    });
  }
  return txn;
}

/** The shared body of `commit` and `txn`, on already-parsed requests; `shape` makes the caller's answer of a result. */
async function commitTxn<R>(
  ctx: CommitContext,
  { requests, opId, guards }: ParsedTxn,
  within: WithinCommit | undefined,
  shape: (result: TxnResult) => R,
): Promise<R> {
  for (let i = 0; i < requests.length; i++) {
    checkKey(requests[i]!.key, ctx.limits, requests.length > 1 ? ["requests", i, "key"] : ["key"]);
  }
  for (let i = 0; i < guards.length; i++) checkKey(guards[i]!.key, ctx.limits, ["guards", i, "key"]);
  // A guard-less request hashes as it always has, so opIds recorded before guards existed still replay.
  const hash = opId === undefined ? undefined : payloadHash(guards.length === 0 ? requests : { requests, guards });
  // Guard events name the writer like the written keys' events do.
  const owner = ownerOf(requests);

  const decision = await ctx.backend.transact<Decision>(async (tx) => {
    // Only a backend that locks per key (Postgres) needs the key sets; SQLite's transaction holds the file's lock.
    if (tx.lock) {
      const written = new Set(requests.map((r) => r.key));
      const readOnly = [...new Set(guards.map((g) => g.key).filter((k) => !written.has(k)))];
      // A key whose every guard is an epoch guard: only its claim decides, so only its claim need be held (the record
      // version a `fenced` event reports is then the last committed one, which a writer may be about to move).
      const versioned = new Set(guards.filter((g) => !("epoch" in g)).map((g) => g.key));
      const fenceOnly = readOnly.filter((k) => !versioned.has(k));
      const locked = tx.lock({
        keys: [...written, ...readOnly],
        readOnly,
        ...(fenceOnly.length > 0 && { fenceOnly }),
        ...(opId !== undefined && { opId }),
      });
      if (isPending(locked)) await locked;
    }
    // Read the clock after any lock wait, so lease expiry is judged at the time the commit decides.
    const now = ctx.now();
    if (opId !== undefined) {
      const answer = tx.getIdempotency(opId);
      const first = isPending(answer) ? await answer : answer;
      if (first) {
        if (first.hash !== hash) return { kind: "mismatch", opId };
        const result = JSON.parse(first.resultText) as TxnResult;
        for (const r of result.results) {
          const req = requests.find((q) => q.key === r.key)!;
          await tx.appendEvent(event(now, req.key, req.owner, r.version, r.epoch, opId, "replayed"));
        }
        return { kind: "replayed", result: { ...result, replayed: true } };
      }
    }

    for (const guard of guards) {
      const answer = tx.getKeyState(guard.key);
      const { record, claim } = isPending(answer) ? await answer : answer;
      const currentEpoch = claim?.epoch ?? 0;
      const actualVersion = record?.version ?? 0;
      if ("epoch" in guard) {
        const reason = fenceReason(guard.epoch ?? undefined, claim, now);
        if (reason) {
          await tx.appendEvent(event(now, guard.key, owner, actualVersion, currentEpoch, opId, "fenced"));
          return { kind: "fenced", details: { key: guard.key, heldEpoch: guard.epoch, currentEpoch, reason } };
        }
      } else if (versionMismatch(guard.version, actualVersion)) {
        await tx.appendEvent(event(now, guard.key, owner, actualVersion, currentEpoch, opId, "conflict"));
        return { kind: "conflict", details: { key: guard.key, expectedVersion: guard.version, actualVersion } };
      }
    }

    const states: KeyState[] = [];
    for (const req of requests) {
      const answer = tx.getKeyState(req.key);
      const state = isPending(answer) ? await answer : answer;
      const currentEpoch = state.claim?.epoch ?? 0;
      const actualVersion = state.record?.version ?? 0;
      const reason = fenceReason(req.epoch, state.claim, now);
      if (reason) {
        await tx.appendEvent(event(now, req.key, req.owner, actualVersion, currentEpoch, opId, "fenced"));
        return { kind: "fenced", details: { key: req.key, heldEpoch: req.epoch ?? null, currentEpoch, reason } };
      }
      if (versionMismatch(req.expectVersion, actualVersion)) {
        await tx.appendEvent(event(now, req.key, req.owner, actualVersion, currentEpoch, opId, "conflict"));
        return { kind: "conflict", details: { key: req.key, expectedVersion: req.expectVersion, actualVersion } };
      }
      states.push(state);
    }

    // Decide every op before writing any: a txn is all-or-nothing even when a later op does not apply (G4).
    const writes: { req: TxnItem; valueText: string | null; version: number; epoch: number }[] = [];
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
    const seqs: Awaitable<number>[] = [];
    for (const { req, valueText, version, epoch } of writes) {
      const put = tx.putRecord({ key: req.key, valueText, version, epoch, updatedAt: now });
      if (isPending(put)) await put;
      // Only an opId's record needs the seq inside the transaction (it keeps the result); otherwise the event may
      // travel with the COMMIT and its seq is filled in once the transaction has landed.
      const atCommit = opId === undefined;
      seqs.push(tx.appendEvent(event(now, req.key, req.owner, version, epoch, opId, "committed"), { atCommit }));
      results.push({ key: req.key, exists: valueText !== null, version, epoch, replayed: false, seq: 0 });
    }
    const result: TxnResult = { results, replayed: false };
    if (opId !== undefined) {
      const filled = fillSeqs(results, seqs);
      if (isPending(filled)) await filled;
      const put = tx.putIdempotency({ opId, hash: hash!, resultText: JSON.stringify(result), createdAt: now });
      if (isPending(put)) await put;
    }
    if (within) {
      const rows = within(tx, results);
      if (isPending(rows)) await rows;
    }
    return { kind: "committed", result, seqs };
  });

  switch (decision.kind) {
    case "committed": {
      const filled = fillSeqs(decision.result.results, decision.seqs);
      if (isPending(filled)) await filled;
      return shape(decision.result);
    }
    case "replayed":
      return shape(decision.result);
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

/** The first owner a request names: guard events name the writer as the written keys' events do. */
function ownerOf(requests: readonly TxnItem[]): string | undefined {
  for (const r of requests) if (r.owner !== undefined) return r.owner;
  return undefined;
}

/** Sets each result's seq from its event's answer; at once when every answer is already a number (SQLite). */
function fillSeqs(results: CommitResult[], seqs: Awaitable<number>[]): Awaitable<void> {
  if (seqs.some(isPending)) {
    return (async () => {
      for (const [i, seq] of seqs.entries()) results[i]!.seq = await seq;
    })();
  }
  for (const [i, seq] of seqs.entries()) results[i]!.seq = seq as number;
}

/**
 * The version check (G1), decided here only: a write that expects `expected` (`undefined`: any version) does not apply
 * to a key at `actual`. `commit` uses it for every request and version guard; the fenced reducers
 * (src/langgraph/reducers.ts) use it for a field's `set`/`delete`, so no version decision is made outside the core.
 */
export function versionMismatch(expected: number | undefined, actual: number): expected is number {
  return expected !== undefined && expected !== actual;
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
  key: string,
  owner: string | undefined,
  version: number,
  epoch: number,
  opId: string | undefined,
  outcome: Outcome,
): Omit<StateEvent, "seq"> {
  const e: Omit<StateEvent, "seq"> = { ts, key, version, epoch, outcome };
  if (owner !== undefined) e.owner = owner;
  if (opId !== undefined) e.opId = opId;
  return e;
}
