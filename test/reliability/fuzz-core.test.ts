/**
 * Fuzzing every public entry point of the core — `StateStore`, the op builders — and `FencedStore` with fast-check
 * garbage (nulls, wrong types, lone surrogates, U+10FFFF, numbers beyond ±(2^53 − 1), `__proto__` members), on every
 * backend at once. Each call must either fail with a typed `FencedStateError` whose code is not `UNAVAILABLE` — and,
 * for bad input, change nothing (G6) — or succeed and read back exactly what was written; and every backend must
 * answer the same (issue 13 items 8, 9, 11; issue 15 items 3, 8). Any other exception (a TypeError, a SQLite error)
 * fails the test. The saver has its own: fuzz-saver.test.ts.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FencedStateError, InvalidInputError, op, openStore, type StateStore } from "../../src/index.js";
import { FencedStore } from "../../src/langgraph/index.js";
import { backendFixtures, type BackendFixture } from "../support/backends.js";
import {
  nastyAnything,
  nastyJson as anyJson,
  nastyNumber,
  nastyString,
  stableJson,
  trickyJson,
} from "../support/fuzz.js";

const RUNS = Number(process.env.FENCED_FUZZ_RUNS ?? 300);
const MAX = Number.MAX_SAFE_INTEGER;
/** Values: half storable but tricky (they must read back exactly), half anything JSON-looking (most are refused). */
const nastyJson = fc.oneof(trickyJson, anyJson);

/** A few keys, so that calls meet each other's writes; some continue a prefix with U+10FFFF. */
const key = fc.oneof(
  { arbitrary: fc.constantFrom("f/a", "f/b", "f/\u{10FFFF}", "f/\u{10FFFF}x", "f/\uFFFD", "f"), weight: 3 },
  nastyString,
);
const prefix = fc.oneof(fc.constantFrom("", "f", "f/", "f/\u{10FFFF}", "f/\uD800"), nastyString);
const maybe = <T>(a: fc.Arbitrary<T>) => fc.oneof(a, fc.constant(undefined), nastyAnything);
const count = fc.oneof(fc.constantFrom(-1, 0, 1, 2, 2.5, 100_001), nastyAnything);
const ttl = fc.oneof(fc.constantFrom(1, 500, 5000), nastyNumber);

/** An op: a builder called with arbitrary arguments, or an arbitrary object. */
const anOp = fc.oneof(
  nastyJson.map((v) => op.set(v as never)),
  fc.constant(op.delete()),
  fc
    .oneof(fc.constantFrom(1, -1, MAX, -MAX, 1e-20, 0.5), nastyNumber, nastyAnything)
    .map((by) => op.increment(by as never)),
  fc.array(nastyJson, { maxLength: 3 }).map((items) => op.append(...(items as never[]))),
  nastyJson.map((patch) => op.merge(patch as never)),
  nastyAnything,
);
const request = fc.oneof(
  fc.record(
    {
      key,
      op: anOp,
      expectVersion: maybe(fc.nat(3)),
      epoch: maybe(fc.nat(3)),
      opId: maybe(fc.constantFrom("op1", "op2")),
      owner: maybe(nastyString),
    },
    { requiredKeys: ["key", "op"] },
  ),
  nastyAnything,
);
const ref = fc.oneof(fc.record({ key, owner: fc.constantFrom("alice", "bob"), epoch: fc.nat(4) }), nastyAnything);
const namespace = fc.oneof(
  fc.constantFrom(["ns"], ["ns", "a"], [], ["a.b"], ["langgraph"], ["x\uD800"]),
  fc.array(nastyString, { maxLength: 2 }),
  nastyAnything,
);
const itemValue = fc.oneof(nastyJson, fc.constant(null));

/** One call: its name, for the report, and a function of a store (and the FencedStore on it). */
interface Call {
  name: string;
  args: unknown[];
  run(store: StateStore, items: FencedStore): Promise<unknown> | unknown;
  /** For a write that succeeded: the key it wrote and the value it must read back as (`undefined`: deleted). */
  wrote?(before: Map<string, unknown>): { key: string; value: unknown } | undefined;
}

const call = (
  name: string,
  args: fc.Arbitrary<unknown[]>,
  run: (s: StateStore, items: FencedStore, ...a: never[]) => unknown,
) => args.map((a): Call => ({ name, args: a, run: (s, items) => run(s, items, ...(a as never[])) }));

/** Counters near the edges: increments that reach ±(2^53 − 1), or are too small to change the value. */
const counterRequest = fc.record({
  key: fc.constantFrom("f/n", "f/m"),
  op: fc.oneof(
    fc.constantFrom(1, -1, MAX, -MAX, Math.floor(MAX / 2), 1e-20, 0.5).map((by) => op.increment(by)),
    fc.constantFrom(0, 1, MAX, -MAX, 1e15).map((v) => op.set(v)),
  ),
});

const commitCall = fc.oneof(request, counterRequest).map(
  (r): Call => ({
    name: "commit",
    args: [r],
    run: (s) => s.commit(r as never),
    wrote: (before) => expectedWrite(r, before),
  }),
);

const calls: fc.Arbitrary<Call> = fc.oneof(
  // Commits (every op, through its builder) are the most of the calls: they are where values are stored.
  { arbitrary: commitCall, weight: 12 },
  call("read", fc.tuple(key), (s, _, k) => s.read(k)),
  call(
    "list",
    fc.tuple(
      fc.oneof(
        prefix,
        fc.record(
          { prefix: maybe(prefix), after: maybe(key), limit: maybe(count), includeDeleted: maybe(fc.boolean()) },
          { requiredKeys: [] },
        ),
        nastyAnything,
      ),
    ),
    (s, _, q) => s.list(q),
  ),
  call(
    "txn",
    fc.tuple(
      fc.oneof(fc.array(request, { maxLength: 3 }), nastyAnything),
      maybe(fc.record({ opId: maybe(nastyString) }, { requiredKeys: [] })),
    ),
    (s, _, rs, o) => s.txn(rs, o),
  ),
  call(
    "claim",
    fc.tuple(
      fc.oneof(
        fc.record(
          {
            key,
            owner: fc.oneof(fc.constantFrom("alice", "bob"), nastyString),
            ttlMs: ttl,
            steal: maybe(fc.boolean()),
          },
          { requiredKeys: ["key", "owner", "ttlMs"] },
        ),
        nastyAnything,
      ),
    ),
    (s, _, r) => s.claim(r),
  ),
  call("renew", fc.tuple(ref, ttl), (s, _, r, t) => s.renew(r, t)),
  call("release", fc.tuple(ref), (s, _, r) => s.release(r)),
  call("currentClaim", fc.tuple(key), (s, _, k) => s.currentClaim(k)),
  fc
    .tuple(
      key,
      fc.oneof(
        nastyJson.map((v) => ({ v })),
        nastyAnything,
      ),
      maybe(fc.record({ retries: maybe(count), epoch: maybe(count), owner: maybe(nastyString) }, { requiredKeys: [] })),
    )
    .map(([k, f, o]): Call => {
      // Either a function returning a known value (which must then be stored), or anything at all as `fn`.
      const known = f !== null && typeof f === "object" && "v" in f ? f : undefined;
      const fn = known ? () => known.v : f;
      return {
        name: "update",
        args: [k, fn, o],
        run: (s) => s.update(k, fn as never, o as never),
        ...(known && { wrote: () => ({ key: k, value: known.v }) }),
      };
    }),
  call(
    "events",
    fc.tuple(prefix, maybe(fc.record({ fromSeq: maybe(count), limit: maybe(count) }, { requiredKeys: [] }))),
    (s, _, p, o) => s.events(p, o),
  ),
  call(
    "watch",
    fc.tuple(
      prefix,
      maybe(
        fc.record(
          { fromSeq: maybe(count), pollMs: maybe(count), signal: maybe(fc.constant(AbortSignal.abort())) },
          { requiredKeys: [] },
        ),
      ),
    ),
    async (s, _, p, o) => {
      await s.watch(p, o).return(undefined);
      return "watching";
    },
  ),
  call(
    "withClaim",
    fc.tuple(
      key,
      fc.oneof(
        fc.constant(async () => "done"),
        nastyAnything,
      ),
      maybe(
        fc.record(
          { owner: fc.oneof(fc.constant("carol"), nastyString), ttlMs: maybe(ttl), renewEveryMs: maybe(count) },
          { requiredKeys: [] },
        ),
      ),
    ),
    (s, _, k, fn, o) => s.withClaim(k, fn, o),
  ),
  call("FencedStore.get", fc.tuple(namespace, key), (_, items, n, k) => items.get(n, k)),
  call(
    "FencedStore.search",
    fc.tuple(
      namespace,
      maybe(fc.record({ limit: maybe(count), offset: maybe(count), filter: maybe(nastyJson) }, { requiredKeys: [] })),
    ),
    (_, items, n, o) => items.search(n, o),
  ),
  call("FencedStore.put", fc.tuple(namespace, key, itemValue), (_, items, n, k, v) => items.put(n, k, v)),
  call("FencedStore.delete", fc.tuple(namespace, key), (_, items, n, k) => items.delete(n, k)),
  call(
    "FencedStore.listNamespaces",
    fc.tuple(
      maybe(fc.record({ prefix: maybe(namespace), maxDepth: maybe(count), limit: maybe(count) }, { requiredKeys: [] })),
    ),
    (_, items, o) => items.listNamespaces(o),
  ),
  call("FencedStore.putIfVersion", fc.tuple(namespace, key, itemValue, count), (_, items, n, k, v, e) =>
    items.putIfVersion(n, k, v, e),
  ),
  call(
    "FencedStore.update",
    fc.tuple(
      namespace,
      key,
      fc.oneof(
        itemValue.map((v) => () => v),
        nastyAnything,
      ),
    ),
    (_, items, n, k, fn) => items.update(n, k, fn),
  ),
  call(
    "FencedStore.batch",
    fc.tuple(
      fc.oneof(
        fc.array(
          fc.oneof(
            fc.record({ namespace, key }),
            fc.record({ namespace, key, value: itemValue }),
            fc.record({ namespacePrefix: namespace }),
            nastyAnything,
          ),
          { maxLength: 3 },
        ),
        nastyAnything,
      ),
    ),
    (_, items, ops) => items.batch(ops),
  ),
);

/** What a successful single commit must have stored, computed from the state before it by the RFC's rules. */
function expectedWrite(r: unknown, before: Map<string, unknown>): { key: string; value: unknown } | undefined {
  const { key: k, op: o } = r as {
    key: string;
    op: { type: string; value?: unknown; by?: number; items?: unknown[]; patch?: unknown };
  };
  const current = before.get(k);
  switch (o.type) {
    case "set":
      return { key: k, value: o.value };
    case "delete":
      return { key: k, value: undefined };
    case "increment": {
      // An acknowledged increment must have added exactly `by`, to a number every client reads alike.
      const base = (current as number | undefined) ?? 0;
      const sum = base + o.by!;
      const exact = Math.abs(sum) <= Number.MAX_SAFE_INTEGER && (sum !== base || o.by === 0);
      return { key: k, value: exact ? sum : "an increment that was not exact must be refused" };
    }
    case "append":
      return { key: k, value: [...((current as unknown[] | undefined) ?? []), ...o.items!] };
    case "merge":
      return { key: k, value: referenceMerge(current, o.patch) };
  }
  return undefined;
}

/** RFC 7386 over `Map`s, where no member name is special. */
function referenceMerge(target: unknown, patch: unknown): unknown {
  const isObject = (v: unknown): v is Record<string, unknown> =>
    v !== null && typeof v === "object" && !Array.isArray(v);
  if (!isObject(patch)) return patch;
  const out = new Map<string, unknown>(isObject(target) ? Object.keys(target).map((k) => [k, target[k]]) : []);
  for (const k of Object.keys(patch)) {
    if (patch[k] === null) out.delete(k);
    else out.set(k, referenceMerge(out.get(k), patch[k]));
  }
  const obj: Record<string, unknown> = {};
  for (const [k, v] of out)
    Object.defineProperty(obj, k, { value: v, enumerable: true, writable: true, configurable: true });
  return obj;
}

/** A number in `value` beyond ±(2^53 − 1), or `undefined`. */
function unsafeNumber(value: unknown): number | undefined {
  if (typeof value === "number") return Math.abs(value) > Number.MAX_SAFE_INTEGER ? value : undefined;
  if (value === null || typeof value !== "object") return undefined;
  for (const v of Object.values(value)) {
    const bad = unsafeNumber(v);
    if (bad !== undefined) return bad;
  }
  return undefined;
}

type Outcome = { ok: string } | { code: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A result as comparable text: dates as ISO strings, and the random opIds `update` draws as one placeholder. */
function normalize(value: unknown): string {
  const text = JSON.stringify(value, (_, v: unknown) =>
    v instanceof Date ? v.toISOString() : typeof v === "string" && UUID.test(v) ? "<uuid>" : v,
  );
  return text === undefined ? "undefined" : stableJson(JSON.parse(text));
}

async function stateOf(store: StateStore) {
  const records = await store.list({ includeDeleted: true, limit: 10_000 });
  return {
    records: normalize(records),
    lastSeq: await store.backend.lastSeq(),
    values: new Map(records.map((r) => [r.key, r.value])),
  };
}

describe("fuzzing every public entry point on every backend at once", () => {
  const fixtures: BackendFixture[] = backendFixtures();
  const stores: StateStore[] = [];
  let now = 1_000_000;
  beforeAll(async () => {
    for (const f of fixtures) stores.push(await f.open({ clock: () => now }));
  });
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await Promise.all(fixtures.map((f) => f.cleanup()));
  });

  it(
    `answers ${RUNS} runs of garbage calls alike on ${backendFixtures()
      .map((f) => f.name)
      .join(", ")}: a typed error that changed nothing, or a write that reads back`,
    async () => {
      const codes = new Map<string, number>();
      await fc.assert(
        fc.asyncProperty(fc.array(calls, { minLength: 1, maxLength: 5 }), async (batch) => {
          for (const c of batch) {
            now += 1000; // lets short claims expire between calls, the same on every backend
            const outcomes: Outcome[] = [];
            for (const [i, store] of stores.entries()) {
              const where = `${fixtures[i]!.name}: ${c.name}(${fc.stringify(c.args).slice(1, -1)})`;
              const before = await stateOf(store);
              let outcome: Outcome;
              try {
                outcome = { ok: normalize(await c.run(store, new FencedStore(store))) };
              } catch (err) {
                if (!(err instanceof FencedStateError))
                  throw new Error(`${where} threw an untyped ${String(err)}`, { cause: err });
                expect(err.code, `${where}: ${err.message}`).not.toBe("UNAVAILABLE");
                outcome = { code: err.code };
              }
              const after = await stateOf(store);
              if ("code" in outcome && (outcome.code === "INVALID_INPUT" || outcome.code === "PAYLOAD_TOO_LARGE")) {
                expect(
                  { records: after.records, lastSeq: after.lastSeq },
                  `${where} refused its input but changed the store`,
                ).toEqual({ records: before.records, lastSeq: before.lastSeq });
              }
              const wrote = "ok" in outcome ? c.wrote?.(before.values) : undefined;
              if (wrote)
                expect(stableJson(after.values.get(wrote.key)), `${where} stored something else`).toBe(
                  stableJson(wrote.value),
                );
              for (const [k, v] of after.values) {
                if (stableJson(v) === stableJson(before.values.get(k))) continue;
                expect(
                  unsafeNumber(v),
                  `${where} stored at ${JSON.stringify(k)} a number no client reads back alike`,
                ).toBeUndefined();
              }
              outcomes.push(outcome);
            }
            for (const [i, o] of outcomes.entries()) {
              expect(
                o,
                `${fixtures[i]!.name} answers ${c.name}(${fc.stringify(c.args).slice(1, -1)}) as ${fixtures[0]!.name} does`,
              ).toEqual(outcomes[0]);
            }
            const code = "code" in outcomes[0]! ? outcomes[0].code : "ok";
            codes.set(code, (codes.get(code) ?? 0) + 1);
          }
        }),
        // The stores live across runs (a fresh PostgreSQL schema per run would be slow), so a shrunk replay would meet
        // an earlier run's state: report the first failing run as it happened instead.
        { numRuns: RUNS, endOnFailure: true },
      );
      expect(codes.get("INVALID_INPUT") ?? 0).toBeGreaterThan(RUNS / 4);
      expect(codes.get("ok") ?? 0).toBeGreaterThan(RUNS / 4);
    },
    Math.max(120_000, RUNS * 500),
  );
});

describe("fuzzing openStore options", () => {
  it("rejects conflicting or malformed options with INVALID_INPUT", async () => {
    await expect(openStore({ memory: true, path: "/tmp/x.db" })).rejects.toBeInstanceOf(InvalidInputError);
    await expect(openStore({ url: "mysql://nope" })).rejects.toBeInstanceOf(InvalidInputError);
  });
});
