/**
 * Input rules every backend applies alike (issue 13 items 8, 9, 11; issue 15 items 3, 8): an input is either stored
 * and read back unchanged, or refused with `INVALID_INPUT` before anything is written (G6). The property test over
 * every entry point is test/reliability/fuzz-core.test.ts; these are the regression cases, one per finding.
 */
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { InvalidInputError, op, type StateStore } from "../../src/index.js";
import { isWellFormed } from "../../src/backend.js";
import { prefixEnd } from "../../src/backends/key-order.js";
import { compareKeys } from "../../src/backends/key-order.js";
import { backendFixtures } from "../support/backends.js";
import { stableJson } from "../support/fuzz.js";

const MAX = Number.MAX_SAFE_INTEGER;

/** Expects `INVALID_INPUT` (not retryable) and that the store's records and event log did not change. */
async function expectRefused(store: StateStore, call: () => Promise<unknown>): Promise<void> {
  const before = await snapshot(store);
  await expect(call()).rejects.toMatchObject({ code: "INVALID_INPUT", retryable: false });
  await expect(call()).rejects.toBeInstanceOf(InvalidInputError);
  expect(await snapshot(store)).toEqual(before);
}

async function snapshot(store: StateStore) {
  return {
    records: await store.list({ includeDeleted: true, limit: 10_000 }),
    events: await store.events("", { limit: 100_000 }),
  };
}

describe("prefixEnd: the upper bound of a prefix's key range (issue 13 item 9)", () => {
  it("bounds exactly the keys that start with the prefix, in UTF-8 byte order, whatever the characters", () => {
    const char = fc.constantFrom(
      "a",
      "/",
      "~",
      "\u007e",
      "\u0080",
      "\uD7FF",
      "\uE000",
      "\uFFFF",
      "\u{10000}",
      "\u{10FFFE}",
      "\u{10FFFF}",
      "é",
    );
    const text = fc.array(char, { maxLength: 5 }).map((cs) => cs.join(""));
    fc.assert(
      fc.property(text, text, (prefix, key) => {
        const end = prefixEnd(prefix);
        const inRange = compareKeys(key, prefix) >= 0 && (end === null || compareKeys(key, end) < 0);
        expect(inRange, JSON.stringify({ prefix, key, end })).toBe(key.startsWith(prefix));
        if (end !== null) expect(isWellFormed(end)).toBe(true);
      }),
      { numRuns: 5000 },
    );
    expect(prefixEnd("")).toBeNull();
    expect(prefixEnd("\u{10FFFF}\u{10FFFF}")).toBeNull();
    expect(prefixEnd("p/\u{10FFFF}")).toBe("p0");
    expect(prefixEnd("a\uD7FF")).toBe("a\uE000");
  });
});

for (const fixture of backendFixtures()) {
  describe(`input rules: ${fixture.name}`, () => {
    afterAll(() => fixture.cleanup());
    const open = () => fixture.open({ clock: () => 1_000_000 });

    describe("numbers (issue 13 item 8, issue 15 item 9)", () => {
      it("G6: refuses an increment past MAX_SAFE_INTEGER instead of acknowledging a write that changes nothing", async () => {
        const store = await open();
        await store.commit({ key: "n/max", op: op.set(MAX) });
        await expectRefused(store, () => store.commit({ key: "n/max", op: op.increment(1) }));
        await store.commit({ key: "n/min", op: op.set(-MAX) });
        await expectRefused(store, () => store.commit({ key: "n/min", op: op.increment(-1) }));
        await expectRefused(store, () => store.commit({ key: "n/new", op: op.increment(MAX + 1) }));
        await expectRefused(store, () => store.commit({ key: "n/new", op: op.increment(Number.MAX_VALUE) }));
        expect(await store.read("n/max")).toMatchObject({ value: MAX, version: 1 });
        expect((await store.commit({ key: "n/max", op: op.increment(-MAX) })).version).toBe(2);
        expect((await store.read("n/max")).value).toBe(0);
        await store.close();
      });

      it("G6: refuses an increment too small to change the value (1 + 1e-20 is 1)", async () => {
        const store = await open();
        await store.commit({ key: "n/one", op: op.set(1) });
        await expectRefused(store, () => store.commit({ key: "n/one", op: op.increment(1e-20) }));
        await store.commit({ key: "n/one", op: op.increment(0.5) });
        await store.commit({ key: "n/one", op: op.increment(0) }); // by 0 asks for no change, and gets a version
        expect(await store.read("n/one")).toMatchObject({ value: 1.5, version: 3 });
        await store.close();
      });

      it("refuses numbers beyond ±(2^53 − 1) in set, append and merge values, which no client reads back alike", async () => {
        const store = await open();
        for (const big of [MAX + 1, -(MAX + 1), 2 ** 53 + 2, 1e300, -1e21]) {
          await expectRefused(store, () => store.commit({ key: "n/v", op: op.set({ deep: [big] }) }));
          await expectRefused(store, () => store.commit({ key: "n/v", op: op.append(big) }));
          await expectRefused(store, () => store.commit({ key: "n/v", op: op.merge({ a: { b: big } }) }));
          await expectRefused(store, () =>
            store.txn([
              { key: "n/t", op: op.set(1) },
              { key: "n/v", op: op.set(big) },
            ]),
          );
        }
        await store.commit({ key: "n/v", op: op.set([MAX, -MAX, 0.1, 1e-300]) });
        expect((await store.read("n/v")).value).toEqual([MAX, -MAX, 0.1, 1e-300]);
        await store.close();
      });
    });

    describe("keys and ids (issue 13 item 9, issue 15 item 3)", () => {
      it("lists, watches and pages the events of keys that continue a prefix with U+10FFFF", async () => {
        const store = await open();
        const keys = ["p/a", "p/\u{10FFFF}", "p/\u{10FFFF}x", "p/\u{10FFFF}\u{10FFFF}", "p0", "q"];
        for (const key of keys) await store.commit({ key, op: op.set(key) });
        // UTF-8 byte order: "x" (0x78) sorts before U+10FFFF (0xF4 0x8F 0xBF 0xBF).
        expect((await store.list("p/")).map((r) => r.key)).toEqual([
          "p/a",
          "p/\u{10FFFF}",
          "p/\u{10FFFF}x",
          "p/\u{10FFFF}\u{10FFFF}",
        ]);
        expect((await store.list("p/\u{10FFFF}")).map((r) => r.key)).toEqual([
          "p/\u{10FFFF}",
          "p/\u{10FFFF}x",
          "p/\u{10FFFF}\u{10FFFF}",
        ]);
        expect((await store.list("p/\u{10FFFF}\u{10FFFF}")).map((r) => r.key)).toEqual(["p/\u{10FFFF}\u{10FFFF}"]);
        expect((await store.list({ prefix: "p/", after: "p/\u{10FFFF}" })).map((r) => r.key)).toEqual([
          "p/\u{10FFFF}x",
          "p/\u{10FFFF}\u{10FFFF}",
        ]);
        expect((await store.events("p/\u{10FFFF}")).map((e) => e.key)).toEqual([
          "p/\u{10FFFF}",
          "p/\u{10FFFF}x",
          "p/\u{10FFFF}\u{10FFFF}",
        ]);
        const watched: string[] = [];
        const stop = new AbortController();
        for await (const e of store.watch("p/\u{10FFFF}", { fromSeq: 1, signal: stop.signal })) {
          watched.push(e.key);
          if (watched.length === 3) stop.abort();
        }
        expect(watched).toEqual(["p/\u{10FFFF}", "p/\u{10FFFF}x", "p/\u{10FFFF}\u{10FFFF}"]);
        for (const r of await store.list("")) expect((await store.read(r.key)).value).toBe(r.key);
        await store.close();
      });

      it("refuses lone surrogates in keys, prefixes, opIds, owners and list cursors (never stores U+FFFD instead)", async () => {
        const store = await open();
        await store.commit({ key: "k/\uFFFD", op: op.set("replacement character") });
        for (const bad of ["k/\uD800", "k/\uDC00", "k/\uDC00\uD800", "\uDBFF"]) {
          await expectRefused(store, () => store.read(bad));
          await expectRefused(store, () => store.commit({ key: bad, op: op.set(1) }));
          await expectRefused(store, () =>
            store.txn([
              { key: "k/ok", op: op.set(1) },
              { key: bad, op: op.set(1) },
            ]),
          );
          await expectRefused(store, () => store.claim({ key: bad, owner: "a", ttlMs: 1000 }));
          await expectRefused(store, () => store.currentClaim(bad));
          await expectRefused(store, () => store.list(bad));
          await expectRefused(store, () => store.list({ after: bad }));
          await expectRefused(store, () => store.events(bad));
          expect(() => store.watch(bad)).toThrow(InvalidInputError);
          await expectRefused(store, () => store.commit({ key: "k/ok", op: op.set(1), opId: bad }));
          await expectRefused(store, () => store.commit({ key: "k/ok", op: op.set(1), owner: bad }));
          await expectRefused(store, () => store.claim({ key: "k/ok", owner: bad, ttlMs: 1000 }));
          await expectRefused(store, () => store.update(bad, () => 1));
        }
        expect(await store.read("k/\uFFFD")).toMatchObject({ value: "replacement character", version: 1 });
        await store.close();
      });

      it("stores string values with lone surrogates and reads them back unchanged", async () => {
        const store = await open();
        const value = { "lone\uD800": ["\uDC00", "a\uD83D", "\uD83D\uDE00"], "\uDFFF": "x\uDBFFy" };
        await store.commit({ key: "s/v", op: op.set(value) });
        await store.commit({ key: "s/m", op: op.merge(value) });
        expect(stableJson((await store.read("s/v")).value)).toBe(stableJson(value));
        expect(stableJson((await store.read("s/m")).value)).toBe(stableJson(value));
        await store.close();
      });
    });

    describe("__proto__ members are data (issue 15 item 8)", () => {
      const withProto = () => JSON.parse('{"__proto__": {"polluted": true}, "b": 2}') as { [key: string]: never };

      it("merges a __proto__ member of a JSON Merge Patch as data, also through a commit's wire body", async () => {
        const store = await open();
        await store.commit({ key: "pr/m", op: op.merge(withProto()) });
        const read = (await store.read("pr/m")).value as object;
        expect(Object.hasOwn(read, "__proto__")).toBe(true);
        expect(stableJson(read)).toBe('{"__proto__":{"polluted":true},"b":2}');
        await store.commit(
          JSON.parse('{"key": "pr/m", "op": {"type": "merge", "patch": {"__proto__": {"more": 1}, "constructor": 3}}}'),
        );
        expect(stableJson((await store.read("pr/m")).value)).toBe(
          '{"__proto__":{"more":1,"polluted":true},"b":2,"constructor":3}',
        );
        await store.commit({ key: "pr/m", op: op.merge(JSON.parse('{"__proto__": null, "toString": {"x": 1}}')) });
        expect(stableJson((await store.read("pr/m")).value)).toBe('{"b":2,"constructor":3,"toString":{"x":1}}');
        expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
        await store.close();
      });

      it("stores set and append values with __proto__ members unchanged", async () => {
        const store = await open();
        await store.commit({ key: "pr/s", op: op.set(withProto()) });
        await store.commit({ key: "pr/a", op: op.append(withProto(), [withProto()]) });
        expect(stableJson((await store.read("pr/s")).value)).toBe(stableJson(withProto()));
        expect(stableJson((await store.read("pr/a")).value)).toBe(stableJson([withProto(), [withProto()]]));
        await store.close();
      });

      it("tells a __proto__ member apart from its absence in idempotency hashes", async () => {
        const store = await open();
        await store.commit({ key: "pr/i", op: op.set(withProto()), opId: "proto-op" });
        await expect(store.commit({ key: "pr/i", op: op.set({ b: 2 }), opId: "proto-op" })).rejects.toMatchObject({
          code: "IDEMPOTENCY_MISMATCH",
        });
        expect((await store.commit({ key: "pr/i", op: op.set(withProto()), opId: "proto-op" })).replayed).toBe(true);
        await store.close();
      });
    });

    describe("arguments and options (issue 13 item 11)", () => {
      it("refuses events options that are not a page (limit 2.5, -1, 0; fromSeq -1; unknown fields; null)", async () => {
        const store = await open();
        await store.commit({ key: "e/k", op: op.set(1) });
        for (const options of [
          { limit: 2.5 },
          { limit: -1 },
          { limit: 0 },
          { limit: 100_001 },
          { limit: "5" },
          { fromSeq: -1 },
          { fromSeq: 1.5 },
          { form: 1 },
          null,
          5,
          "x",
        ]) {
          await expectRefused(store, () => store.events("", options as never));
        }
        expect(await store.events("", { limit: 1 })).toHaveLength(1);
        expect(await store.events("", { fromSeq: 0 })).toHaveLength(1);
        await store.close();
      });

      it("refuses null and mistyped arguments of update, withClaim, watch, txn and commitRetryingUnavailable", async () => {
        const store = await open();
        await expectRefused(store, () => store.update("u/k", () => 1, null as never));
        await expectRefused(store, () => store.update("u/k", null as never));
        await expectRefused(store, () => store.update("u/k", () => 1, { retries: -1 }));
        await expectRefused(store, () => store.update("u/k", () => 1, { epoch: "1" as never }));
        await expectRefused(store, () => store.update(null as never, () => 1));
        await expectRefused(store, () => store.update("u/k", () => undefined as never));
        await expectRefused(store, () => store.withClaim("u/k", async () => 1, null as never));
        await expectRefused(store, () => store.withClaim("u/k", async () => 1, {} as never));
        await expectRefused(store, () => store.withClaim("u/k", null as never, { owner: "a" }));
        await expectRefused(store, () => store.withClaim("u/k", async () => 1, { owner: "a", renewEveryMs: 0 }));
        await expectRefused(store, () => store.txn([{ key: "u/k", op: op.set(1) }], null as never));
        await expectRefused(store, () => store.txn(null as never));
        await expectRefused(store, () => store.commitRetryingUnavailable({ key: "u/k", op: op.set(1) } as never));
        await expectRefused(store, () => store.commitRetryingUnavailable(null as never));
        await expectRefused(store, () => store.commit(null as never));
        await expectRefused(store, () => store.claim(null as never));
        await expectRefused(store, () => store.renew(null as never, 1000));
        await expectRefused(store, () => store.release(null as never));
        await expectRefused(store, () => store.list(null as never));
        await expectRefused(store, () => store.read(undefined as never));
        for (const options of [null, 5, { fromSeq: -1 }, { pollMs: 0 }, { signal: "stop" }]) {
          expect(() => store.watch("", options as never)).toThrow(InvalidInputError);
        }
        await store.close();
      });
    });
  });
}
