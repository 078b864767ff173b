/**
 * Fuzzing FencedCheckpointSaver's inputs (fast-check garbage for config, checkpoint, metadata, newVersions, writes):
 * every call either succeeds or rejects with a typed `FencedStateError` — never a TypeError — and a rejected call
 * writes nothing (G6). Runs on every backend.
 */
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { FencedStateError } from "../../src/index.js";
import { FencedCheckpointSaver } from "../../src/langgraph/index.js";
import { checkpoint, from, meta } from "../langgraph/fixtures/checkpoints.js";
import { backendFixtures } from "../support/backends.js";
import { nastyString } from "../support/fuzz.js";

const RUNS = Number(process.env.FENCED_FUZZ_RUNS ?? 300);
/** Anything, or the strings that break ids (lone surrogates, U+10FFFF, NUL, …). */
const idish = fc.oneof(fc.anything(), nastyString);
const configish = fc.oneof(
  fc.anything(),
  fc.record(
    {
      configurable: fc.oneof(
        fc.anything(),
        fc.record({ thread_id: idish, checkpoint_ns: idish, checkpoint_id: idish }, { requiredKeys: [] }),
      ),
    },
    { requiredKeys: [] },
  ),
);

for (const fixture of backendFixtures()) {
  describe(`fuzzing FencedCheckpointSaver: ${fixture.name}`, () => {
    afterAll(() => fixture.cleanup());

    it(`answers ${RUNS} garbage calls to put, putWrites, getTuple and list with typed errors only, writing nothing`, async () => {
      const store = await fixture.open();
      const saver = new FencedCheckpointSaver(store);
      const codes = new Map<string, number>();
      await fc.assert(
        fc.asyncProperty(
          fc.nat(3),
          configish,
          fc.anything(),
          fc.anything(),
          fc.anything(),
          async (which, config, a, b, c) => {
            const before = await store.events("", { fromSeq: 1, limit: 100_000 });
            let code = "ok";
            try {
              if (which === 0) await saver.put(config as never, a as never, b as never, c as never);
              else if (which === 1) await saver.putWrites(config as never, a as never, b as never);
              else if (which === 2) await saver.getTuple(config as never);
              else for await (const _ of saver.list(config as never, { limit: 2 })) void _;
            } catch (err) {
              if (!(err instanceof FencedStateError)) throw err;
              code = err.code;
              expect(await store.events("", { fromSeq: 1, limit: 100_000 })).toEqual(before);
            }
            codes.set(code, (codes.get(code) ?? 0) + 1);
          },
        ),
        { numRuns: RUNS },
      );
      expect(codes.get("INVALID_INPUT") ?? 0).toBeGreaterThan(RUNS / 4);
      await store.close();
    });

    it("refuses lone surrogates in thread ids, namespaces, checkpoint ids and task ids, which PostgreSQL would store as U+FFFD", async () => {
      const store = await fixture.open();
      const saver = new FencedCheckpointSaver(store);
      const refused = [
        () => saver.put(from("t\uD800"), checkpoint({ n: 1 }), meta(0), { n: 1 }),
        () =>
          saver.put({ configurable: { thread_id: "t", checkpoint_ns: "\uDC00" } }, checkpoint({ n: 1 }), meta(0), {
            n: 1,
          }),
        () => saver.put(from("t"), { ...checkpoint({ n: 1 }), id: "c\uD800" }, meta(0), { n: 1 }),
        () =>
          saver.put({ configurable: { thread_id: "t", checkpoint_id: "\uD800" } }, checkpoint({ n: 1 }), meta(0), {
            n: 1,
          }),
        () => saver.getTuple({ configurable: { thread_id: "t", checkpoint_id: "\uD800" } }),
      ];
      for (const call of refused) await expect(call()).rejects.toMatchObject({ code: "INVALID_INPUT" });
      const head = await saver.put(from("t"), checkpoint({ n: 1 }), meta(0), { n: 1 });
      await expect(saver.putWrites(head, [["n", 2]], "task\uD800")).rejects.toMatchObject({ code: "INVALID_INPUT" });
      await expect(saver.putWrites(head, [["n\uDC00", 2]], "task")).rejects.toMatchObject({ code: "INVALID_INPUT" });
      await expect(
        saver.putWrites({ configurable: { ...head.configurable, fenced_owner: "\uD800" } }, [["n", 2]], "task"),
      ).rejects.toMatchObject({ code: "INVALID_INPUT" });
      expect((await saver.getTuple(from("t")))?.pendingWrites).toEqual([]);
      await store.close();
    });
  });
}
