/**
 * fast-check arbitraries for the inputs that break input handling: null and wrong types, lone surrogates, U+10FFFF,
 * numbers beyond ±(2^53 − 1), `__proto__` members. Shared by the fuzz tests of every public entry point
 * (test/reliability/fuzz-core.test.ts, fuzz-saver.test.ts).
 */
import fc from "fast-check";

const MAX = Number.MAX_SAFE_INTEGER;

/** Strings made mostly of the characters the input rules are about. */
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "",
    "a",
    "k",
    "p/",
    "p/\u{10FFFF}",
    "p/\u{10FFFF}x",
    "k/\uD800",
    "\uDC00",
    "a.b",
    "__proto__",
    "langgraph",
    "\u0000",
    "x".repeat(600),
    "x".repeat(5000),
  ),
  fc
    .array(fc.constantFrom("a", "/", "\u{10FFFF}", "\uD800", "\uDC00", "\uFFFD", "é", "\u0001", ".", "~"), {
      maxLength: 6,
    })
    .map((cs) => cs.join("")),
  fc.string({ unit: "binary", maxLength: 8 }),
);

/** Numbers at and beyond every edge: the safe-integer bounds, non-finite, tiny, negative zero. */
export const nastyNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(
    0,
    -0,
    1,
    -1,
    2.5,
    MAX,
    -MAX,
    MAX + 1,
    -(MAX + 1),
    2 ** 53 + 2,
    1e300,
    1e-20,
    NaN,
    Infinity,
    -Infinity,
    Number.MIN_VALUE,
  ),
  fc.integer(),
  fc.double(),
);

/** Builds an object from entries with `defineProperty`, so a `"__proto__"` entry is an own member, as `JSON.parse` makes it. */
export function objectOf(entries: [string, unknown][]): Record<string, unknown> {
  const obj: Record<string, unknown> = {};
  for (const [k, v] of entries)
    Object.defineProperty(obj, k, { value: v, writable: true, enumerable: true, configurable: true });
  return obj;
}

const memberName = fc.oneof(fc.constantFrom("__proto__", "constructor", "toString", "a", "b"), nastyString);

/**
 * Storable JSON (finite numbers within ±(2^53 − 1)) whose objects often have members named `__proto__`,
 * `constructor` or `toString`, and whose strings often hold lone surrogates or U+10FFFF: every one must read back
 * exactly.
 */
export const trickyJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constantFrom(null, true, false, 0, -1, 2.5, MAX, -MAX, 1e-300, "\uD800", "\u{10FFFF}", ""),
    fc.array(tie("value"), { maxLength: 3 }),
    fc
      .array(fc.tuple(fc.constantFrom("__proto__", "constructor", "toString", "a", "\uDC00"), tie("value")), {
        maxLength: 3,
      })
      .map(objectOf),
  ),
})).value;

/** JSON-looking values salted with the nasty parts (and, rarely, things that are not JSON at all). */
export const nastyJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constantFrom(null, true, false),
    nastyString,
    nastyNumber,
    fc.jsonValue({ maxDepth: 2 }),
    fc.constantFrom(undefined, new Date(0), () => 1),
    fc.array(tie("value"), { maxLength: 3 }),
    fc.array(fc.tuple(memberName, tie("value")), { maxLength: 3 }).map(objectOf),
  ),
})).value;

/** Anything at all, weighted towards the nasty parts. */
export const nastyAnything: fc.Arbitrary<unknown> = fc.oneof(
  nastyJson,
  fc.anything({
    withNullPrototype: true,
    withBigInt: true,
    withDate: true,
    withMap: true,
    withSet: true,
    withTypedArray: true,
    withSparseArray: true,
  }),
  fc.constantFrom(null, undefined),
);

/**
 * Canonical JSON text of a value: object members sorted, own `"__proto__"` members included (`Object.keys` lists
 * them), lone surrogates escaped as `JSON.stringify` does. Two values are the same stored value iff their texts are.
 * Written apart from the library's `canonicalJson` so that a bug there cannot hide in both.
 */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    return `{${Object.keys(obj)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson(obj[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value) ?? "undefined";
}
