/**
 * Model-based tests (fast-check `fc.commands`): random sequences of the spec's actions — commit (every op, with a
 * current/stale/absent version, a current/stale/absent epoch or the other key's epoch, a fresh/reused opId), claim,
 * steal, release, clock
 * ticks (lease expiry) and reads — run against each backend and against a small reference model written from
 * docs/design.md §2–§3 alone. Each action goes to one of TWO store instances on the same data (two stores on one SQLite file,
 * two pools on one Postgres schema), so what one instance commits, the other must read and decide on at once.
 * Every outcome (result or error code) must match the model, and the recorded event log must satisfy the spec's
 * invariants (specs/README.md): each acknowledged commit appears exactly once, at the seq it was acknowledged with,
 * and seqs strictly increase in acknowledgement order; versions form one chain per key; no commit under a superseded
 * epoch is applied after the reclaim; no opId is applied twice; both instances read the same log.
 */
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { FencedStateError, mergePatch, type Json, type Op, type StateStore } from "../../src/index.js";
import { canonicalJson } from "../../src/backend.js";
import { backendFixtures } from "../support/backends.js";

const RUNS = Number(process.env.FENCED_MODEL_RUNS ?? 3000);
const KEYS = 2;
const OWNERS = ["a", "b", "c"] as const;

interface ModelKey {
  exists: boolean;
  value?: Json;
  version: number;
}
interface ModelClaim {
  owner: string | null;
  epoch: number;
  expiresAt: number;
}
interface Model {
  now: number;
  keys: ModelKey[];
  claims: (ModelClaim | undefined)[];
  /** opId → [request text, the result fields a replay must return]. */
  opIds: Map<string, [string, { version: number; epoch: number; exists: boolean }]>;
  /** Acknowledged (non-replayed) commits per key, for the event-log check. */
  acked: number[];
  lastRequest?: { req: Record<string, unknown>; opId: string };
}
interface Real {
  /** Two instances on the same data; each command names the one it runs on. */
  stores: [StateStore, StateStore];
  prefix: string;
  clock: { now: number };
  opSeq: number;
  /** The greatest epoch the store has handed out so far, on any key and in any earlier run. */
  issued: { max: number };
  /** Acknowledged, non-replayed commits in order: the seq each was acknowledged with. */
  acks: { seq: number; key: string; version: number }[];
}

type Outcome = { ok: { version: number; epoch: number; replayed: boolean; exists: boolean } } | { code: string };

/** What the spec says a commit does; mutates the model only when it succeeds. */
function modelCommit(
  m: Model,
  k: number,
  o: Op,
  expectVersion: number | undefined,
  epoch: number | undefined,
  guard: ModelGuard | undefined,
  opId: string | undefined,
  reqText: string,
): Outcome {
  if (opId !== undefined) {
    const first = m.opIds.get(opId);
    if (first) return first[0] === reqText ? { ok: { ...first[1], replayed: true } } : { code: "IDEMPOTENCY_MISMATCH" };
  }
  // Guards come after idempotency and before the written key's own checks (docs/guards.md).
  if (guard && "epoch" in guard && fenced(m, guard.k, guard.epoch ?? undefined)) return { code: "FENCED" };
  if (guard && "version" in guard && guard.version !== m.keys[guard.k]!.version) return { code: "VERSION_CONFLICT" };
  const current = m.claims[k]?.epoch ?? 0;
  if (fenced(m, k, epoch)) return { code: "FENCED" };
  const key = m.keys[k]!;
  if (expectVersion !== undefined && expectVersion !== key.version) return { code: "VERSION_CONFLICT" };
  let next: ModelKey;
  const cur = key.exists ? key.value : undefined;
  switch (o.type) {
    case "set":
      next = { exists: true, value: o.value, version: key.version + 1 };
      break;
    case "delete":
      next = { exists: false, version: key.version + 1 };
      break;
    case "increment":
      if (cur !== undefined && typeof cur !== "number") return { code: "INVALID_INPUT" };
      next = { exists: true, value: ((cur as number | undefined) ?? 0) + o.by, version: key.version + 1 };
      break;
    case "append":
      if (cur !== undefined && !Array.isArray(cur)) return { code: "INVALID_INPUT" };
      next = { exists: true, value: [...((cur as Json[] | undefined) ?? []), ...o.items], version: key.version + 1 };
      break;
    case "merge":
      next = { exists: true, value: mergePatch(cur, o.patch), version: key.version + 1 };
      break;
  }
  m.keys[k] = next;
  m.acked[k]!++;
  return { ok: { version: next.version, epoch: current, replayed: false, exists: next.exists } };
}

type ModelGuard = { k: number; epoch: number | null } | { k: number; version: number };

/** docs/design.md §2 G2: a presented epoch must be the key's live claim's; without one, no claim may be live. */
function fenced(m: Model, k: number, epoch: number | undefined): boolean {
  const claim = m.claims[k];
  const current = claim?.epoch ?? 0;
  const live = !!claim && claim.owner !== null && claim.expiresAt > m.now;
  return epoch === undefined ? live : epoch !== current || (current > 0 && !live);
}

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc
    .oneof(fc.integer({ min: -5, max: 5 }), fc.constant("s"), fc.constant([1]), fc.constant({ x: 1 }))
    .map((value): Op => ({ type: "set", value: value as Json })),
  fc.constant({ type: "delete" as const }),
  fc.record({ type: fc.constant("increment" as const), by: fc.integer({ min: -3, max: 3 }) }),
  fc.record({
    type: fc.constant("append" as const),
    items: fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 2 }),
  }),
  fc.record({
    type: fc.constant("merge" as const),
    patch: fc.dictionary(fc.constantFrom("x", "y"), fc.oneof(fc.constant(null), fc.integer({ min: 0, max: 3 })), {
      maxKeys: 2,
    }),
  }),
);

class CommitCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly at: 0 | 1,
    readonly k: number,
    readonly o: Op,
    readonly versionMode: "none" | "current" | "stale" | "zero",
    readonly epochMode: "none" | "current" | "stale" | "other-key",
    readonly opIdMode: "none" | "fresh" | "replay" | "reuse",
    /** A guard on the other key: its claim (current, stale or none) or its version (current or stale). */
    readonly guardMode:
      | "none"
      | "epoch-current"
      | "epoch-stale"
      | "epoch-none"
      | "version-current"
      | "version-stale" = "none",
  ) {}
  check = () => true;
  async run(m: Model, r: Real) {
    let req: Record<string, unknown>;
    let opId: string | undefined;
    if (this.opIdMode === "replay" && m.lastRequest) {
      ({ req, opId } = m.lastRequest);
    } else {
      const key = m.keys[this.k]!;
      const epoch = m.claims[this.k]?.epoch ?? 0;
      req = { key: `${r.prefix}/k${this.k}`, op: this.o };
      if (this.versionMode === "current") req.expectVersion = key.version;
      if (this.versionMode === "stale") req.expectVersion = key.version + 1;
      if (this.versionMode === "zero") req.expectVersion = 0;
      if (this.epochMode === "current") req.epoch = epoch;
      if (this.epochMode === "stale" && epoch > 0) req.epoch = epoch - 1;
      // A token of another key's claim is worth nothing here (G2: tokens are bound to their claim).
      const otherEpoch = m.claims[(this.k + 1) % KEYS]?.epoch ?? 0;
      if (this.epochMode === "other-key" && otherEpoch > 0) req.epoch = otherEpoch;
      const g = (this.k + 1) % KEYS;
      const guardKey = `${r.prefix}/k${g}`;
      const guardEpoch = m.claims[g]?.epoch ?? 0;
      const guardVersion = m.keys[g]!.version;
      if (this.guardMode === "epoch-current") req.guards = [{ key: guardKey, epoch: guardEpoch }];
      if (this.guardMode === "epoch-stale") req.guards = [{ key: guardKey, epoch: Math.max(0, guardEpoch - 1) }];
      if (this.guardMode === "epoch-none") req.guards = [{ key: guardKey, epoch: null }];
      if (this.guardMode === "version-current") req.guards = [{ key: guardKey, version: guardVersion }];
      if (this.guardMode === "version-stale") req.guards = [{ key: guardKey, version: guardVersion + 1 }];
      if (this.opIdMode === "reuse" && m.lastRequest) {
        // The last opId with this (usually different) request: IDEMPOTENCY_MISMATCH unless the payload is equal.
        opId = m.lastRequest.opId;
      } else if (this.opIdMode !== "none") {
        opId = `${r.prefix}-op${r.opSeq++}`;
        m.lastRequest = { req, opId };
      }
    }
    const k = Number((req.key as string).split("/k").pop());
    const reqText = canonicalJson([{ ...req, opId: undefined }]);
    const guards = req.guards as
      | ({ key: string; epoch: number | null } | { key: string; version: number })[]
      | undefined;
    const guard = guards?.map(({ key, ...rest }) => ({ k: Number(key.split("/k").pop()), ...rest }) as ModelGuard)[0];
    const expected = modelCommit(
      m,
      k,
      req.op as Op,
      req.expectVersion as number | undefined,
      req.epoch as number | undefined,
      guard,
      opId,
      reqText,
    );
    const request = { ...req, ...(opId !== undefined && { opId }) } as Parameters<StateStore["commit"]>[0];
    const actual: Outcome = await r.stores[this.at].commit(request).then(
      (res) => {
        if (!res.replayed) {
          // Seqs strictly increase in acknowledgement order, across instances.
          expect(res.seq).toBeGreaterThan(r.acks.at(-1)?.seq ?? 0);
          r.acks.push({ seq: res.seq!, key: res.key, version: res.version });
        }
        return { ok: { version: res.version, epoch: res.epoch, replayed: res.replayed, exists: res.exists } };
      },
      (err: unknown) => {
        if (!(err instanceof FencedStateError)) throw err;
        return { code: err.code };
      },
    );
    expect(actual).toEqual(expected);
    if (opId && "ok" in actual && !actual.ok.replayed)
      m.opIds.set(opId, [reqText, { version: actual.ok.version, epoch: actual.ok.epoch, exists: actual.ok.exists }]);
  }
  toString = () =>
    `commit@${this.at}(k${this.k}, ${JSON.stringify(this.o)}, v:${this.versionMode}, e:${this.epochMode}, id:${this.opIdMode}, g:${this.guardMode})`;
}

class ClaimCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly at: 0 | 1,
    readonly k: number,
    readonly owner: string,
    readonly steal: boolean,
    readonly ttlMs: number,
  ) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const c = m.claims[this.k];
    const live = !!c && c.owner !== null && c.expiresAt > m.now;
    const held = live && c.owner !== this.owner && !this.steal;
    const outcome = await r.stores[this.at]
      .claim({ key: `${r.prefix}/k${this.k}`, owner: this.owner, ttlMs: this.ttlMs, steal: this.steal })
      .then(
        (claim) => ({ epoch: claim.epoch }),
        (err: unknown) => ({ code: (err as FencedStateError).code }),
      );
    if (held) return void expect(outcome).toEqual({ code: "CLAIM_HELD" });
    expect(outcome).toEqual({ epoch: expect.any(Number) });
    // Every grant takes a new store-wide epoch: above the key's own and above every epoch handed out on any key, so
    // the token names this claim and no other (G2).
    const { epoch } = outcome as { epoch: number };
    expect(epoch).toBeGreaterThan(Math.max(c?.epoch ?? 0, r.issued.max));
    r.issued.max = epoch;
    m.claims[this.k] = { owner: this.owner, epoch, expiresAt: m.now + this.ttlMs };
  }
  toString = () => `claim@${this.at}(k${this.k}, ${this.owner}, steal:${this.steal}, ttl:${this.ttlMs})`;
}

class ReleaseCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly at: 0 | 1,
    readonly k: number,
    readonly stale: boolean,
  ) {}
  check = (m: Readonly<Model>) => m.claims[this.k] !== undefined;
  async run(m: Model, r: Real) {
    const c = m.claims[this.k]!;
    const ref = { key: `${r.prefix}/k${this.k}`, owner: c.owner ?? "a", epoch: this.stale ? c.epoch - 1 : c.epoch };
    const released = await r.stores[this.at].release(ref);
    const expected = !this.stale && c.owner !== null;
    expect(released).toBe(expected);
    if (expected) m.claims[this.k] = { owner: null, epoch: c.epoch, expiresAt: 0 };
  }
  toString = () => `release@${this.at}(k${this.k}, stale:${this.stale})`;
}

class TickCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly ms: number) {}
  check = () => true;
  async run(m: Model, r: Real) {
    m.now += this.ms;
    r.clock.now = m.now;
  }
  toString = () => `tick(${this.ms})`;
}

class ReadCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly at: 0 | 1,
    readonly k: number,
  ) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const rec = await r.stores[this.at].read(`${r.prefix}/k${this.k}`);
    const key = m.keys[this.k]!;
    expect({ exists: rec.exists, value: rec.value, version: rec.version }).toEqual({
      exists: key.exists,
      value: key.exists ? key.value : undefined,
      version: key.version,
    });
  }
  toString = () => `read@${this.at}(k${this.k})`;
}

const instance = fc.constantFrom<0 | 1>(0, 1);
const commands = [
  fc
    .tuple(
      instance,
      fc.nat(KEYS - 1),
      opArb,
      fc.constantFrom("none", "current", "stale", "zero"),
      fc.constantFrom("none", "current", "current", "stale", "other-key"),
      fc.constantFrom("none", "fresh", "replay", "reuse"),
      fc.constantFrom(
        "none",
        "none",
        "none",
        "epoch-current",
        "epoch-stale",
        "epoch-none",
        "version-current",
        "version-stale",
      ),
    )
    .map(([at, k, o, v, e, id, g]) => new CommitCommand(at, k, o, v as never, e as never, id as never, g as never)),
  fc
    .tuple(instance, fc.nat(KEYS - 1), fc.constantFrom(...OWNERS), fc.boolean(), fc.constantFrom(50, 200))
    .map(([at, k, o, s, t]) => new ClaimCommand(at, k, o, s, t)),
  fc.tuple(instance, fc.nat(KEYS - 1), fc.boolean()).map(([at, k, s]) => new ReleaseCommand(at, k, s)),
  fc.constantFrom(10, 60, 250).map((ms) => new TickCommand(ms)),
  fc.tuple(instance, fc.nat(KEYS - 1)).map(([at, k]) => new ReadCommand(at, k)),
];

for (const fixture of backendFixtures()) {
  describe(`model-based: ${fixture.name}`, () => {
    afterAll(() => fixture.cleanup());

    it(`matches the reference model over ${RUNS} random histories across two instances, and the event log keeps the spec's invariants`, async () => {
      const clock = { now: 1_000_000 };
      const first = await fixture.open({ clock: () => clock.now });
      const stores: [StateStore, StateStore] = [first, await fixture.openTwin(first, { clock: () => clock.now })];
      const issued = { max: 0 };
      let run = 0;
      await fc.assert(
        fc.asyncProperty(fc.commands(commands, { maxCommands: 30 }), async (cmds) => {
          const prefix = `run${run++}`;
          clock.now += 1_000_000; // every run starts with no live claim on its own fresh keys
          const model: Model = {
            now: clock.now,
            keys: Array.from({ length: KEYS }, () => ({ exists: false, version: 0 })),
            claims: Array.from({ length: KEYS }, () => undefined),
            opIds: new Map(),
            acked: Array.from({ length: KEYS }, () => 0),
          };
          const real: Real = { stores, prefix, clock, opSeq: 0, issued, acks: [] };
          await fc.asyncModelRun(() => ({ model, real }), cmds);
          await checkHistory(real, model);
        }),
        { numRuns: RUNS },
      );
      await Promise.all(stores.map((s) => s.close()));
    }, 600_000);
  });
}

/** The spec's invariants on the recorded event log of one run. */
async function checkHistory(real: Real, model: Model): Promise<void> {
  const { prefix } = real;
  const events = await real.stores[0].events(`${prefix}/`, { fromSeq: 1, limit: 100_000 });
  // Both instances read one log, in seq order, and each acknowledged commit is in it at the seq it was acknowledged with.
  expect(await real.stores[1].events(`${prefix}/`, { fromSeq: 1, limit: 100_000 })).toEqual(events);
  for (let i = 1; i < events.length; i++) expect(events[i]!.seq).toBeGreaterThan(events[i - 1]!.seq);
  const bySeq = new Map(events.map((e) => [e.seq, e]));
  for (const ack of real.acks) expect(bySeq.get(ack.seq)).toMatchObject({ ...ack, outcome: "committed" });
  for (let k = 0; k < KEYS; k++) {
    const mine = events.filter((e) => e.key === `${prefix}/k${k}`);
    const committed = mine.filter((e) => e.outcome === "committed");
    // Each acknowledged commit appears exactly once; versions form one chain 1..n.
    expect(committed.map((e) => e.version)).toEqual(Array.from({ length: model.acked[k]! }, (_, i) => i + 1));
    // No commit under a superseded epoch lands after the reclaim.
    let maxClaimed = 0;
    for (const e of mine) {
      if (e.outcome === "claimed") maxClaimed = Math.max(maxClaimed, e.epoch);
      if (e.outcome === "committed" && e.epoch !== 0) expect(e.epoch).toBe(maxClaimed);
    }
    // No opId is applied twice.
    const ids = committed.filter((e) => e.opId !== undefined).map((e) => e.opId);
    expect(new Set(ids).size).toBe(ids.length);
  }
}
