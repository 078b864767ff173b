/**
 * The OpenAPI document restates the key and prefix refinements of the core zod schemas as JSON Schema patterns, so
 * that a client or a fuzzer generating "valid" requests from `/openapi.json` meets no hidden rule (schemathesis'
 * positive-data check in adapters/python/tests/test_schemathesis.py). A restatement can drift: this test holds the
 * patterns equal to the refinements on arbitrary strings, weighted towards the edge characters.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { KeySchema, MAX_KEY_LENGTH, PrefixSchema } from "../../src/backend.js";
import { KEY_PATTERN, PREFIX_PATTERN } from "../../src/server/index.js";

const RUNS = Number(process.env.FENCED_FUZZ_RUNS ?? 400) * 5;

/** Strings made mostly of the characters the rules are about: `/`, control characters, and a few ordinary ones. */
const edgy = fc.oneof(
  fc
    .array(
      fc.constantFrom("a", "Z", "/", "//", "\u0000", "\u001f", "\u0020", "\u007f", "\u0080", "é", "😀", "\ud800"),
      { maxLength: 12 },
    )
    .map((cs) => cs.join("")),
  fc.string({ unit: "binary", maxLength: 20 }),
  fc.string({ maxLength: 20 }),
);

describe("OpenAPI patterns agree with the zod refinements", () => {
  it("KEY_PATTERN plus the length bounds accepts exactly the keys KeySchema accepts", () => {
    const pattern = new RegExp(KEY_PATTERN, "u");
    fc.assert(
      fc.property(edgy, (s) => {
        const byDocument = pattern.test(s) && s.length >= 1 && s.length <= MAX_KEY_LENGTH;
        expect(byDocument, JSON.stringify(s)).toBe(KeySchema.safeParse(s).success);
      }),
      { numRuns: RUNS },
    );
    for (const [key, ok] of [
      ["team/notes", true],
      ["a", true],
      ["/a", false],
      ["a/", false],
      ["a//b", false],
      ["a\tb", false],
      ["a\u007fb", false],
      ["", false],
    ] as const) {
      expect([key, pattern.test(key)]).toEqual([key, ok]);
    }
  });

  it("PREFIX_PATTERN accepts exactly the prefixes PrefixSchema accepts", () => {
    const pattern = new RegExp(PREFIX_PATTERN, "u");
    fc.assert(
      fc.property(edgy, (s) => {
        expect(pattern.test(s) && s.length <= MAX_KEY_LENGTH, JSON.stringify(s)).toBe(
          PrefixSchema.safeParse(s).success,
        );
      }),
      { numRuns: RUNS },
    );
  });
});
