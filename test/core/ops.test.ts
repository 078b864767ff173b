/**
 * `applyOp` (exported from `fenced-state/backend` for backend authors; also what the LangGraph reducers apply): the
 * value each op produces, and for an op that cannot apply, the issue a caller gets inside `INVALID_INPUT` — where
 * (`path`) and why (`message`, naming the op, what it needs and what it found). Pure: no store involved; the same
 * rules through `commit` on every backend are in conformance.test.ts and inputs.test.ts.
 */
import { describe, expect, it } from "vitest";
import { applyOp } from "../../src/backend.js";
import { op, type Json } from "../../src/index.js";

const MAX = Number.MAX_SAFE_INTEGER;

describe("applyOp: the value after each op", () => {
  it("set replaces, delete leaves no value, whatever was there", () => {
    for (const current of [undefined, 1, "x", null, [1], { a: 1 }] as (Json | undefined)[]) {
      expect(applyOp(current, op.set({ b: 2 }))).toStrictEqual({ exists: true, value: { b: 2 } });
      expect(applyOp(current, op.delete())).toStrictEqual({ exists: false });
    }
  });

  it("increment adds to a number, a missing value counting as 0", () => {
    expect(applyOp(undefined, op.increment(3))).toStrictEqual({ exists: true, value: 3 });
    expect(applyOp(2, op.increment(-5))).toStrictEqual({ exists: true, value: -3 });
    expect(applyOp(1, op.increment(0))).toStrictEqual({ exists: true, value: 1 });
  });

  it("append adds items to an array, a missing value counting as []", () => {
    expect(applyOp(undefined, op.append(1, "a"))).toStrictEqual({ exists: true, value: [1, "a"] });
    expect(applyOp([0], op.append([1]))).toStrictEqual({ exists: true, value: [0, [1]] });
  });

  it("merge applies a JSON Merge Patch", () => {
    expect(applyOp({ a: 1, b: 2 }, op.merge({ b: null, c: 3 }))).toStrictEqual({ exists: true, value: { a: 1, c: 3 } });
    expect(applyOp(undefined, op.merge({ c: 3 }))).toStrictEqual({ exists: true, value: { c: 3 } });
  });
});

describe("applyOp: the issue when an op cannot apply", () => {
  const kinds: [Json, string][] = [
    [null, "null"],
    ["text", "a string"],
    [true, "a boolean"],
    [{ a: 1 }, "an object"],
  ];

  it("increment of a value that is not a number names the op, what it needs and the kind found, at path op", () => {
    for (const [current, kind] of [...kinds, [[1], "an array"]] as [Json, string][]) {
      expect(applyOp(current, op.increment(1))).toStrictEqual({
        issue: { path: ["op"], message: `increment needs a number as the current value, found ${kind}` },
      });
    }
  });

  it("append to a value that is not an array names the op, what it needs and the kind found, at path op", () => {
    for (const [current, kind] of [...kinds, [7, "a number"]] as [Json, string][]) {
      expect(applyOp(current, op.append(1))).toStrictEqual({
        issue: { path: ["op"], message: `append needs an array as the current value, found ${kind}` },
      });
    }
  });

  it("an increment past ±(2^53 − 1) is an overflow at path op.by, with the operands", () => {
    expect(applyOp(MAX, op.increment(1))).toStrictEqual({
      issue: {
        path: ["op", "by"],
        message: `increment of ${MAX} by 1 overflows: numbers beyond ±(2^53 − 1) cannot be stored exactly; store them as strings`,
      },
    });
    expect(applyOp(undefined, op.increment(-Infinity))).toMatchObject({ issue: { path: ["op", "by"] } });
  });

  it("an increment too small to change the value is refused at path op.by, with the operands", () => {
    expect(applyOp(1, op.increment(1e-20))).toStrictEqual({
      issue: { path: ["op", "by"], message: "increment of 1 by 1e-20 is too small to change the value" },
    });
  });
});
