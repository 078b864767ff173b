/** JSON rules of the core (src/core/json.ts): what is storable, canonical text for hashes, deep equality. */
import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalJson, findNonJson, isJsonObject, jsonEqual, mergePatch, payloadHash } from "../../src/core/json.js";
import { headCheckpointId } from "../../src/core/checkpoints.js";

function nested(depth: number, wrap: (v: unknown) => unknown = (v) => [v]): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = wrap(v);
  return v;
}

describe("findNonJson", () => {
  it("accepts nesting up to 256 levels and names the place beyond it", () => {
    expect(findNonJson(nested(256))).toBeNull();
    const bad = findNonJson(nested(258));
    expect(bad).toEqual({ path: Array(257).fill(0), message: "nested more than 256 levels deep" });
    expect(findNonJson(nested(256, (v) => ({ a: v })))).toBeNull();
    expect(findNonJson(nested(258, (v) => ({ a: v })))).toEqual({
      path: Array(257).fill("a"),
      message: "nested more than 256 levels deep",
    });
  });

  it("looks at every member of an object, not only the first", () => {
    expect(findNonJson({ a: 1, b: "ok", c: Number.POSITIVE_INFINITY })).toMatchObject({ path: ["c"] });
  });

  it("names what is not JSON and where", () => {
    expect(findNonJson({ a: [1, Number.NaN] })).toEqual({
      path: ["a", 1],
      message: "not a finite number (NaN and Infinity are not JSON)",
    });
    expect(findNonJson({ f: () => 1 })).toEqual({ path: ["f"], message: "not JSON (function)" });
    expect(findNonJson([new Date(0)])).toEqual({ path: [0], message: "not plain JSON (a class instance)" });
  });
});

describe("canonicalJson and jsonEqual", () => {
  it("gives equal text for equal values whatever the key order, and null for undefined", () => {
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: null }] })).toBe('{"a":[{"c":null,"d":2}],"b":1}');
    expect(canonicalJson(undefined)).toBe("null");
    expect(canonicalJson({ a: undefined, b: 1 })).toBe('{"b":1}');
    expect(canonicalJson([1, 2, [3, 4]])).toBe("[1,2,[3,4]]");
    expect(payloadHash([1, 2])).not.toBe(payloadHash([12]));
  });

  it("payloadHash is SHA-256 of the canonical text, base64url: the digest idempotency records stored before still match", () => {
    // Computed with createHash("sha256") when records began to be stored: a replay compares against such digests.
    expect(payloadHash([{ op: { type: "increment", by: 1 }, key: "k" }])).toBe(
      "pfLgV87tmQveXFEYl6hPSgK9x5W3d2_XrIuviaV62yo",
    );
    for (const value of [null, "é", { b: [1, { z: null, a: "x" }] }, [1.5, -0, true]]) {
      expect(payloadHash(value)).toBe(createHash("sha256").update(canonicalJson(value)).digest("base64url"));
    }
  });

  it("gives the text it always gave (stored digests depend on it), for any value", () => {
    // The definition every stored idempotency digest was computed with, kept here as the reference.
    const reference = (value: unknown): string => {
      if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
      if (Array.isArray(value)) return `[${value.map(reference).join(",")}]`;
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj)
        .filter((k) => obj[k] !== undefined)
        .sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${reference(obj[k])}`).join(",")}}`;
    };
    const keyed = fc.oneof(fc.string(), fc.constantFrom("__proto__", "a", "B", "é", "\ud800", "10", "9", ""));
    const value = fc.letrec((tie) => ({
      any: fc.oneof(
        { depthSize: "small" },
        fc.jsonValue(),
        fc.constantFrom(undefined, -0, 1e21, "\u2028"),
        fc.array(tie("any"), { maxLength: 5 }),
        fc.sparseArray(tie("any"), { maxLength: 5 }),
        fc.dictionary(keyed, tie("any"), { maxKeys: 6 }),
      ),
    })).any;
    fc.assert(
      fc.property(value, (v) => {
        expect(canonicalJson(v)).toBe(reference(v));
      }),
      { numRuns: 3000 },
    );
  });

  it("jsonEqual is deep equality of JSON values", () => {
    expect(jsonEqual({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toBe(true);
    expect(jsonEqual({ a: 1, b: 2 }, { b: 2, a: 1 })).toBe(true);
    expect(jsonEqual({ a: [1, 2] }, { a: [2, 1] })).toBe(false);
    expect(jsonEqual(1, "1")).toBe(false);
  });
});

describe("headCheckpointId (the lineage head record's shape, src/core/checkpoints.ts)", () => {
  it("reads the head checkpoint id of a head record, and nothing from any other value", () => {
    expect(headCheckpointId({ checkpointId: "c2", parentCheckpointId: "c1" })).toBe("c2");
    for (const other of [undefined, null, "c2", 7, ["c2"], { checkpointId: 7 }, { id: "c2" }]) {
      expect(headCheckpointId(other as never)).toBeUndefined();
    }
  });
});

describe("isJsonObject and mergePatch", () => {
  it("a JSON object is a plain object (null prototype too); not null, an array, a string or a class instance", () => {
    expect(isJsonObject({ a: 1 })).toBe(true);
    expect(isJsonObject(Object.create(null))).toBe(true);
    for (const other of [null, [1], "x", 1, new Date(0), new Map()]) expect(isJsonObject(other)).toBe(false);
  });

  it("merging onto null or a non-object starts from an empty object", () => {
    expect(mergePatch(null, { a: 1 })).toEqual({ a: 1 });
    expect(mergePatch("text", { a: { b: null, c: 2 } })).toEqual({ a: { c: 2 } });
  });

  it("returns ordinary members: the caller may change and delete them", () => {
    const merged = mergePatch({ a: 1 }, { b: { c: 2 } }) as { [key: string]: unknown };
    merged.b = 3;
    expect(merged).toEqual({ a: 1, b: 3 });
    delete merged.b;
    expect(merged).toEqual({ a: 1 });
  });
});
