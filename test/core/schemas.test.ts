/**
 * The zod schemas every entry point validates with (src/core/schemas.ts): what each accepts, and the message each
 * refusal carries — callers and models act on `issues[].message`, so the messages are part of the contract. Also the
 * OpenAPI metadata the coordinator publishes from them. Written against the surviving mutants of docs/mutation.md.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  CommitRequestSchema,
  JsonObjectSchema,
  JsonSchema,
  KeySchema,
  OpSchema,
  PrefixSchema,
  TextSchema,
} from "../../src/backend.js";

/** The messages of a refused input, or `[]` when it is accepted. */
function messages(schema: z.ZodType, input: unknown): string[] {
  const parsed = schema.safeParse(input);
  return parsed.success ? [] : parsed.error.issues.map((i) => i.message);
}

describe("schemas: keys and prefixes", () => {
  it.each([
    ["", "key must not be empty"],
    ["a\u0001b", "key must not contain control characters"],
    ["a\u007fb", "key must not contain control characters"],
    ["/a", "key must not have empty segments"],
    ["a/", "key must not have empty segments"],
    ["a//b", "key must not have empty segments"],
    ["a\ud800", "key must be well-formed Unicode (no lone UTF-16 surrogates)"],
  ])("refuses the key %j saying %j", (key, message) => {
    expect(messages(KeySchema, key)).toContain(message);
  });

  it("accepts a /-separated path, and publishes its description and example", () => {
    expect(messages(KeySchema, "team/research/notes")).toEqual([]);
    expect(z.toJSONSchema(KeySchema)).toMatchObject({
      description: "A /-separated path, e.g. team/research/notes",
      example: "team/research/notes",
    });
  });

  it.each([
    ["a\u0000", "prefix must not contain control characters"],
    ["\udc00x", "prefix must be well-formed Unicode (no lone UTF-16 surrogates)"],
  ])("refuses the prefix %j saying %j", (prefix, message) => {
    expect(messages(PrefixSchema, prefix)).toContain(message);
  });

  it("accepts the empty prefix and a prefix ending in /", () => {
    expect(messages(PrefixSchema, "")).toEqual([]);
    expect(messages(PrefixSchema, "team/")).toEqual([]);
  });

  it("text must be well-formed", () => {
    expect(messages(TextSchema, "ok")).toEqual([]);
    expect(messages(TextSchema, "\ud800")).toEqual(["must be well-formed Unicode (no lone UTF-16 surrogates)"]);
  });
});

describe("schemas: JSON values", () => {
  it("says where inside a value it stops being JSON, and why", () => {
    const [message] = messages(JsonSchema, { a: { b: Number.NaN } });
    expect(message).toMatch(/^must be plain JSON \(at a\.b\): /);
    expect(message!.slice(message!.indexOf("): ") + 3)).not.toBe("not JSON"); // the reason found, not the fallback
    expect(messages(JsonSchema, [1, [2, undefined]])[0]).toMatch(/^must be plain JSON \(at 1\.1\): /);
  });

  it("names no place when the value itself is not JSON", () => {
    const [message] = messages(JsonSchema, Number.POSITIVE_INFINITY);
    expect(message).toMatch(/^must be plain JSON: \S/);
    expect(message).not.toContain("(at");
  });

  it("publishes a description", () => {
    expect(z.toJSONSchema(JsonSchema, { unrepresentable: "any" })).toMatchObject({
      description: "Any JSON value; numbers within ±(2^53 − 1)",
    });
    expect(z.toJSONSchema(JsonObjectSchema, { unrepresentable: "any" })).toMatchObject({
      type: "object",
      description: "A JSON object",
    });
  });

  it("a JSON object: refuses arrays and scalars as not objects, and says where an object stops being JSON", () => {
    expect(messages(JsonObjectSchema, [])).toEqual(["must be a JSON object"]);
    expect(messages(JsonObjectSchema, 3)).toEqual(["must be a JSON object"]);
    expect(messages(JsonObjectSchema, { a: new Date(0) })[0]).toMatch(/^must be plain JSON \(at a\): /);
    expect(messages(JsonObjectSchema, { a: 1 })).toEqual([]);
  });
});

describe("schemas: ops and requests", () => {
  it.each([
    [{ type: "set", value: null }, true],
    [{ type: "set" }, false],
    [{ type: "delete" }, true],
    [{ type: "delete", value: 1 }, false],
    [{ type: "increment", by: 2 }, true],
    [{ type: "increment" }, false],
    [{ type: "append", items: [1] }, true],
    [{ type: "append", items: [] }, false],
    [{ type: "merge", patch: { a: null } }, true],
    [{ type: "merge", patch: [] }, false],
    [{ type: "replace", value: 1 }, false],
  ])("op %j accepted: %s", (op, ok) => {
    expect(OpSchema.safeParse(op).success).toBe(ok);
  });

  it.each([
    ["opId", { opId: "a\u0000b" }, "opId must not contain NUL (U+0000)"],
    ["owner", { owner: "a\u0000b" }, "owner must not contain NUL (U+0000)"],
  ])("refuses a NUL in the %s", (_, extra, message) => {
    expect(messages(CommitRequestSchema, { key: "k", op: { type: "delete" }, ...extra })).toContain(message);
  });

  it("opIds and owners are 1 to 256 characters", () => {
    const request = (extra: object) => ({ key: "k", op: { type: "delete" }, ...extra });
    expect(CommitRequestSchema.safeParse(request({ opId: "x".repeat(256), owner: "y".repeat(256) })).success).toBe(
      true,
    );
    expect(CommitRequestSchema.safeParse(request({ opId: "x".repeat(257) })).success).toBe(false);
    expect(CommitRequestSchema.safeParse(request({ owner: "y".repeat(257) })).success).toBe(false);
    expect(CommitRequestSchema.safeParse(request({ opId: "" })).success).toBe(false);
  });
});
