/**
 * The commit schemas' fast paths (src/core/fast-parse.ts) never accept what zod refuses, and answer exactly zod's
 * output for what they accept; and they do recognise the plain requests the stores, the saver and the HTTP server
 * send (else they would be dead weight). Inputs are generated around every edge of the schemas: keys with empty
 * segments, control characters, lone surrogates, spaces, over-long; numbers fractional, negative, unsafe, NaN; ops
 * with missing or extra fields; explicit `undefined`s; duplicate keys in a txn; class instances and arrays for objects.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fastCommitRequest, fastTxnOptions, fastTxnRequest } from "../../src/core/fast-parse.js";
import { findNonJson } from "../../src/core/json.js";
import { broken } from "../support/broken.js";
import { CommitRequestSchema, MAX_KEY_LENGTH, TxnOptionsSchema, TxnRequestSchema } from "../../src/core/schemas.js";

class Boxed {
  constructor(readonly value: unknown) {}
}

const key = fc.oneof(
  fc.constantFrom("a", "team/notes", "langgraph/t-1/head/~", "a%2Fb/~", "x".repeat(MAX_KEY_LENGTH)),
  fc.constantFrom(
    "",
    "/a",
    "a/",
    "a//b",
    "a b",
    "a\u0000b",
    "a\u007fb",
    "\uD800",
    "é/ü",
    "x".repeat(MAX_KEY_LENGTH + 1),
  ),
  fc.string({ maxLength: 12 }),
  fc.stringMatching(/^[!-~]{1,6}(\/[!-~]{0,4}){0,3}$/),
);
const text = fc.oneof(
  fc.constantFrom("agent-a", "op-1", " ", "a\u0000", "\uDC00x", "ü", "x".repeat(256), "x".repeat(257), ""),
  fc.string({ maxLength: 8 }),
);
const count = fc.oneof(
  fc.nat(),
  fc.integer({ min: -3, max: 3 }),
  fc.constantFrom(0.5, -0, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, Number.MAX_SAFE_INTEGER),
  fc.constantFrom(null, "1", true),
);
const json = fc.oneof(
  fc.jsonValue(),
  fc.constantFrom(undefined, Number.NaN, 2 ** 60, new Date(0), new Boxed(1), { a: undefined }, [1, () => 1]),
);
const op = fc.oneof(
  fc.record({ type: fc.constant("set"), value: json }),
  fc.record({ type: fc.constant("set") }),
  fc.constant({ type: "delete" }),
  fc.record({ type: fc.constant("delete"), value: json }),
  fc.record({ type: fc.constant("increment"), by: count }),
  fc.record({ type: fc.constant("increment"), by: fc.double() }),
  fc.record({ type: fc.constant("append"), items: fc.array(fc.jsonValue(), { maxLength: 2 }) }),
  fc.record({ type: fc.constant("merge"), patch: fc.dictionary(fc.string({ maxLength: 3 }), fc.jsonValue()) }),
  fc.record({ type: fc.constantFrom("put", undefined), value: json }),
  fc.constantFrom(null, [], new Boxed({ type: "delete" })),
);
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.oneof(arb, arb, arb, fc.constant(undefined));
const guard = fc.oneof(
  fc.record({ key, epoch: fc.oneof(count, fc.constant(null)) }),
  fc.record({ key, version: count }),
  fc.record({ key, version: count, epoch: count }),
  fc.record({ key }),
  fc.constantFrom(null, "g"),
);
const guards = fc.oneof(fc.array(guard, { maxLength: 3 }), fc.constantFrom(null, {}));
const extra = fc.oneof(fc.constant({}), fc.constant({}), fc.record({ stray: fc.jsonValue() }));
const item = fc
  .tuple(
    fc.record(
      { key, op, expectVersion: maybe(count), epoch: maybe(count), owner: maybe(text) },
      { requiredKeys: ["key", "op"] },
    ),
    extra,
  )
  .map(([r, e]) => ({ ...r, ...e }));
const commitRequest = fc
  .tuple(item, fc.record({ opId: maybe(text), guards: maybe(guards) }, { requiredKeys: [] }))
  .map(([r, o]) => ({ ...r, ...o }));
const options = fc
  .tuple(fc.record({ opId: maybe(text), guards: maybe(guards) }, { requiredKeys: [] }), extra)
  .map(([o, e]) => ({ ...o, ...e }));
const txnRequest = fc
  .tuple(
    fc.oneof(
      fc.array(item, { maxLength: 3 }),
      // The same key twice: zod refuses it.
      item.map((r) => [r, { ...r }]),
      fc.constantFrom(null, {}),
    ),
    options,
  )
  .map(([requests, o]) => ({ requests, ...o }));

// Plainly valid requests, each then broken in exactly one place: every rule of the schemas gets tried on its own.
const plainKey = fc.stringMatching(/^[a-z0-9_~%.-]{1,8}(\/[a-z0-9_~%.-]{1,8}){0,3}$/);
const plainOp = fc.oneof(
  fc.record({ type: fc.constant("set"), value: fc.jsonValue().filter((v) => findNonJson(v) === null) }),
  fc.constant({ type: "delete" }),
  fc.record({ type: fc.constant("increment"), by: fc.integer() }),
);
const absentOr = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const plainItem = fc
  .record({
    key: plainKey,
    op: plainOp,
    expectVersion: absentOr(fc.nat()),
    epoch: absentOr(fc.nat()),
    owner: absentOr(fc.stringMatching(/^[ -~]{1,20}$/)),
  })
  .map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)));
const plainGuard = fc.oneof(
  fc.record({ key: plainKey, epoch: fc.option(fc.nat(), { nil: null }) }),
  fc.record({ key: plainKey, version: fc.nat() }),
);
const plainCommit = fc
  .tuple(plainItem, absentOr(fc.uuid()), absentOr(fc.array(plainGuard, { maxLength: 2 })))
  .map(([r, opId, guards]) => ({ ...r, ...(opId && { opId }), ...(guards && { guards }) }));
const plainTxn = fc
  .tuple(
    fc.uniqueArray(plainItem, { minLength: 1, maxLength: 3, selector: (r) => r.key }),
    absentOr(fc.uuid()),
    absentOr(fc.array(plainGuard, { maxLength: 2 })),
  )
  .map(([requests, opId, guards]) => ({ requests, ...(opId && { opId }), ...(guards && { guards }) }));
const bad = fc.constantFrom<unknown>(
  undefined,
  null,
  "",
  "a//b",
  "/a",
  "a\u0000",
  "\uD800",
  " ",
  -1,
  0.5,
  2 ** 53,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  {},
  [],
  new Boxed(1),
  { type: "set", value: Number.NaN },
  { type: "set", value: new Date(0) },
  { type: "set", value: { a: [1, undefined] } },
  { type: "increment", by: 2 ** 60 },
  { type: "delete", extra: 1 },
  { key: "a", epoch: 1, version: 1 },
  "x".repeat(MAX_KEY_LENGTH + 1),
);

/** Whatever `fast` answers, zod accepts, and zod's output is exactly that answer. */
function agrees(
  fast: (v: unknown) => unknown,
  schema: { safeParse(v: unknown): { success: boolean; data?: unknown } },
) {
  return (input: unknown) => {
    const quick = fast(input);
    if (quick === undefined) return;
    const parsed = schema.safeParse(input);
    expect(parsed.success, fc.stringify(input)).toBe(true);
    expect(quick).toStrictEqual(parsed.data);
  };
}

describe("fast paths of the commit schemas", () => {
  it("never accept a commit request zod refuses, and answer zod's output", () => {
    fc.assert(fc.property(broken(plainCommit, bad), agrees(fastCommitRequest, CommitRequestSchema)), { numRuns: 3000 });
    fc.assert(fc.property(commitRequest, agrees(fastCommitRequest, CommitRequestSchema)), { numRuns: 3000 });
    fc.assert(fc.property(fc.anything(), agrees(fastCommitRequest, CommitRequestSchema)), { numRuns: 500 });
  });

  it("never accept a txn zod refuses, and answer zod's output", () => {
    fc.assert(fc.property(broken(plainTxn, bad), agrees(fastTxnRequest, TxnRequestSchema)), { numRuns: 3000 });
    // The same key twice: zod refuses it.
    const twice = plainTxn.map((t) => ({
      ...t,
      requests: [...t.requests, { ...t.requests[0]!, op: { type: "delete" } }],
    }));
    fc.assert(fc.property(twice, agrees(fastTxnRequest, TxnRequestSchema)), { numRuns: 300 });
    fc.assert(fc.property(txnRequest, agrees(fastTxnRequest, TxnRequestSchema)), { numRuns: 3000 });
    fc.assert(fc.property(fc.anything(), agrees(fastTxnRequest, TxnRequestSchema)), { numRuns: 500 });
  });

  it("never accept txn options zod refuses, and answer zod's output", () => {
    fc.assert(fc.property(options, agrees(fastTxnOptions, TxnOptionsSchema)), { numRuns: 2000 });
  });

  it("recognise every plainly valid request (so zod is left the rest)", () => {
    fc.assert(
      fc.property(plainCommit, (r) => {
        expect(fastCommitRequest(r)).toStrictEqual(CommitRequestSchema.parse(r));
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(plainTxn, (t) => {
        expect(fastTxnRequest(t)).toStrictEqual(TxnRequestSchema.parse(t));
      }),
      { numRuns: 500 },
    );
  });

  it("recognise the plain requests stores, the saver and the HTTP server send", () => {
    const head = { checkpointId: "1f1ed2b9-5919-6a00-8001-c42386d14f87", parentCheckpointId: null };
    const plain = [
      { key: "langgraph/t-1/head/~", op: { type: "set", value: head }, expectVersion: 3, epoch: 2, owner: "run-1" },
      { key: "counters/a", op: { type: "increment", by: 1 }, opId: "6a2f0c1e-4b7d-4c5e-9f00-3b1d2e4f5a6b" },
      { key: "team/notes", op: { type: "delete" }, guards: [{ key: "team/lock", epoch: null }] },
    ];
    for (const r of plain) {
      expect(fastCommitRequest(r)).toStrictEqual(CommitRequestSchema.parse(r));
      const { opId, guards, ...rest } = r as typeof r & { opId?: string; guards?: unknown };
      const txn = { requests: [rest], ...(opId && { opId }), ...(guards !== undefined && { guards }) };
      expect(fastTxnRequest(txn)).toStrictEqual(TxnRequestSchema.parse(txn));
    }
    expect(fastTxnOptions({ guards: [{ key: "langgraph/t-1/head/~", epoch: 4 }] })).toStrictEqual({
      guards: [{ key: "langgraph/t-1/head/~", epoch: 4 }],
    });
  });

  it("copy what they answer: changing the request afterwards changes nothing the commit holds", () => {
    const request = { key: "a", op: { type: "set", value: 1 }, guards: [{ key: "b", version: 1 }] };
    const parsed = fastCommitRequest(request)!;
    request.op.type = "delete";
    request.guards[0]!.version = 7;
    expect(parsed).toStrictEqual({ key: "a", op: { type: "set", value: 1 }, guards: [{ key: "b", version: 1 }] });
  });
});
