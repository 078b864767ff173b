/**
 * Fuzzing every public entry point of the core with garbage (fast-check): each call either succeeds on input that
 * happens to be valid, or rejects with a typed `FencedStateError` — `INVALID_INPUT`/`PAYLOAD_TOO_LARGE` for garbage —
 * and a rejected call writes nothing (G6). Any other exception (a TypeError, a SQLite error) fails the test.
 */
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { FencedStateError, InvalidInputError, openStore, type StateStore } from "../../src/index.js";
import { backendFixtures } from "../support/backends.js";

const RUNS = Number(process.env.FENCED_FUZZ_RUNS ?? 400);

const garbage = fc.oneof(
  fc.anything({ withNullPrototype: true, withBigInt: true, withDate: true, withMap: true, withSet: true, withTypedArray: true, withSparseArray: true }),
  fc.record(
    {
      key: fc.oneof(fc.string(), fc.constantFrom("", "/", "a//b", "a\u0000", "x".repeat(5000)), fc.anything()),
      op: fc.oneof(
        fc.anything(),
        fc.record({ type: fc.constantFrom("set", "delete", "increment", "append", "merge", "nope"), value: fc.anything(), by: fc.anything(), items: fc.anything(), patch: fc.anything() }, { requiredKeys: ["type"] }),
      ),
      expectVersion: fc.oneof(fc.integer(), fc.double(), fc.anything()),
      epoch: fc.oneof(fc.integer(), fc.double(), fc.anything()),
      opId: fc.oneof(fc.string(), fc.anything()),
      owner: fc.anything(),
      extra: fc.anything(),
    },
    { requiredKeys: [] },
  ),
);

/** Calls one entry point with garbage; returns "ok" or the error code, and throws on anything untyped. */
async function poke(store: StateStore, entry: number, input: unknown): Promise<string> {
  const calls: (() => Promise<unknown>)[] = [
    () => store.commit(input as never),
    () => store.txn(input as never),
    () => store.txn([input] as never, input as never),
    () => store.read(input as never),
    () => store.list(input as never),
    () => store.claim(input as never),
    () => store.renew(input as never, input as never),
    () => store.release(input as never),
    () => store.currentClaim(input as never),
    () => store.events(input as never, input as never),
    () => store.update(input as never, () => input as never, { retries: 0 }),
  ];
  try {
    await calls[entry % calls.length]!();
    return "ok";
  } catch (err) {
    if (err instanceof FencedStateError) return err.code;
    throw err;
  }
}

for (const fixture of backendFixtures()) {
  describe(`fuzzing the core API: ${fixture.name}`, () => {
    afterAll(() => fixture.cleanup());

    it(`answers ${RUNS} garbage calls with typed errors only, and a rejected call writes nothing`, async () => {
      const store = await fixture.open();
      const codes = new Map<string, number>();
      await fc.assert(
        fc.asyncProperty(fc.nat(), garbage, async (entry, input) => {
          const before = await store.events("", { fromSeq: 1, limit: 100_000 });
          const code = await poke(store, entry, input);
          codes.set(code, (codes.get(code) ?? 0) + 1);
          if (code === "INVALID_INPUT" || code === "PAYLOAD_TOO_LARGE") {
            expect(await store.events("", { fromSeq: 1, limit: 100_000 })).toEqual(before);
          }
        }),
        { numRuns: RUNS },
      );
      expect(codes.get("INVALID_INPUT") ?? 0).toBeGreaterThan(RUNS / 2);
      await store.close();
    });
  });
}

describe("fuzzing openStore options", () => {
  it("rejects conflicting or malformed options with INVALID_INPUT", async () => {
    await expect(openStore({ memory: true, path: "/tmp/x.db" })).rejects.toBeInstanceOf(InvalidInputError);
    await expect(openStore({ url: "mysql://nope" })).rejects.toBeInstanceOf(InvalidInputError);
  });
});
