/**
 * The JsonPlusSerializer shortcuts (src/langgraph/json-plus.ts) answer exactly what the serializer answers: the same
 * bytes for every value they stringify, the same value for every text they parse, and they are taken for plain data
 * (else they would be dead code that any change could break unseen).
 */
import { isDeepStrictEqual } from "node:util";
import { MemorySaver, type SerializerProtocol } from "@langchain/langgraph-checkpoint";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { dumpsPlain, loadsJson } from "../../src/langgraph/json-plus.js";

const serde = new MemorySaver().serde as SerializerProtocol;

/** A JsonPlusSerializer (same prototype) that fails if asked to load: a load that succeeds took the shortcut. */
const refusingLoads = Object.assign(Object.create(Object.getPrototypeOf(serde) as object) as SerializerProtocol, {
  loadsTyped: async () => {
    throw new Error("the serializer was asked");
  },
});

/** Keys the serializer's replacer and reviver act on, mixed into generated objects. */
const key = fc.oneof(
  fc.string(),
  fc.constantFrom("lc", "type", "id", "args", "method", "value", "lg_name", "__proto__", "toJSON", "node"),
);
const leaf = fc.oneof(
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.string({ unit: "binary" }),
  fc.constant(null),
  fc.constant(undefined),
  fc.constantFrom(1, 2, "constructor", "undefined", "delta_snapshot", "Send", "Set", "Map", ["Set"], ["Map"]),
);
/** Anything a channel value could be: plain data, and what plain JSON cannot hold (Set, Map, bytes, holes…). */
const anyValue = fc.anything({
  key,
  values: [leaf],
  maxDepth: 4,
  withMap: true,
  withSet: true,
  withDate: true,
  withTypedArray: true,
  withSparseArray: true,
  withNullPrototype: true,
  withBoxedValues: true,
});
/** Plain JSON data, keys included: what the shortcuts must take. */
const plainValue = fc.jsonValue({ maxDepth: 4 }).filter((v) => !JSON.stringify(v).includes("__proto__"));

const asked = Symbol("asked");
const text = (bytes: Uint8Array) => Buffer.from(bytes).toString("utf8");

describe("JsonPlusSerializer shortcuts", () => {
  it("stringify any value to the serializer's bytes, or leave it to the serializer", async () => {
    await fc.assert(
      fc.asyncProperty(anyValue, async (value) => {
        const plain = dumpsPlain(serde, value);
        if (plain === undefined) return;
        const [type, bytes] = await serde.dumpsTyped(value);
        expect(plain[0]).toBe(type);
        expect(text(plain[1])).toBe(text(bytes));
      }),
      { numRuns: 2000 },
    );
  });

  it("take every value of plain JSON data", () => {
    fc.assert(
      fc.property(plainValue, (value) => {
        expect(dumpsPlain(serde, value)?.[0]).toBe("json");
      }),
    );
  });

  it("leave to the serializer what it writes otherwise: undefined, holes, a Send-like object, cycles, classes", async () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    // biome-ignore lint/suspicious/noSparseArray: a hole is what is tested
    const holes = [1, , 3];
    const deep = Array.from({ length: 300 }).reduce<unknown>((inner) => [inner], 1);
    const cases: unknown[] = [
      undefined,
      { a: undefined },
      holes,
      { lg_name: "Send", node: "n", args: { x: 1 } },
      cyclic,
      new Set([1]),
      new Map([["a", 1]]),
      new Uint8Array([1, 2]),
      new Date(0),
      { toJSON: () => "x" },
      Number.NaN,
      deep,
    ];
    for (const value of cases) expect(dumpsPlain(serde, value), String(value)).toBeUndefined();
    // Each of them the serializer writes differently from JSON.stringify (or JSON.stringify cannot write at all).
    for (const value of cases.slice(0, 8)) {
      const [, bytes] = await serde.dumpsTyped(value);
      let json: string | undefined;
      try {
        json = JSON.stringify(value);
      } catch {
        json = undefined;
      }
      expect(text(bytes), String(value)).not.toBe(json);
    }
  });

  it("parse the serializer's text of any value to the value the serializer loads", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(anyValue, { maxLength: 3 }), async (values) => {
        // As the saver reads a checkpoint: pieces joined into one JSON array.
        const dumped = await Promise.all(values.map((v) => serde.dumpsTyped(v)));
        const joined = `[${dumped.filter(([type]) => type === "json").map(([, bytes]) => text(bytes))}]`;
        // Text the shortcut leaves to the serializer is the serializer's answer by construction.
        const ours = await loadsJson(refusingLoads, joined).catch(() => asked);
        if (ours === asked) return;
        expect(isDeepStrictEqual(ours, await serde.loadsTyped("json", joined))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it("parse text of plain data without the serializer", async () => {
    await fc.assert(
      fc.asyncProperty(plainValue, async (value) => {
        const json = JSON.stringify(value);
        if (json.includes('"lc"') || json.includes("\\u")) return;
        expect(await loadsJson(refusingLoads, json)).toEqual(await serde.loadsTyped("json", json));
      }),
    );
  });

  it("leave to the serializer text with a record, an escaped key or a __proto__ key", async () => {
    const texts = [
      '{"lc":2,"type":"undefined"}',
      '[{"lc":2,"type":"constructor","id":["Set"],"method":null,"args":[[1]],"kwargs":{}}]',
      '{"\\u006cc":2,"type":"undefined"}',
      '{"__proto__":{"polluted":1}}',
    ];
    for (const t of texts) {
      await expect(loadsJson(refusingLoads, t), t).rejects.toThrow("the serializer was asked");
      // What JSON.parse alone would answer differs for each of them.
      expect(isDeepStrictEqual(JSON.parse(t), await serde.loadsTyped("json", t)), t).toBe(false);
    }
  });
});
