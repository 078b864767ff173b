/**
 * Fuzzing FencedCheckpointSaver's inputs (fast-check garbage for config, checkpoint, metadata, newVersions, writes):
 * every call either succeeds or rejects with a typed `FencedStateError` — never a TypeError — and a rejected call
 * writes nothing (G6). Runs on every backend.
 */
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { FencedStateError } from "../../src/index.js";
import { FencedCheckpointSaver } from "../../src/langgraph/index.js";
import { backendFixtures } from "../support/backends.js";

const RUNS = Number(process.env.FENCED_FUZZ_RUNS ?? 300);
const configish = fc.oneof(
  fc.anything(),
  fc.record({ configurable: fc.oneof(fc.anything(), fc.record({ thread_id: fc.anything(), checkpoint_ns: fc.anything(), checkpoint_id: fc.anything() }, { requiredKeys: [] })) }, { requiredKeys: [] }),
);

for (const fixture of backendFixtures()) {
  describe(`fuzzing FencedCheckpointSaver: ${fixture.name}`, () => {
    afterAll(() => fixture.cleanup());

    it(`answers ${RUNS} garbage calls to put, putWrites, getTuple and list with typed errors only, writing nothing`, async () => {
      const store = await fixture.open();
      const saver = new FencedCheckpointSaver(store);
      const codes = new Map<string, number>();
      await fc.assert(
        fc.asyncProperty(fc.nat(3), configish, fc.anything(), fc.anything(), fc.anything(), async (which, config, a, b, c) => {
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
        }),
        { numRuns: RUNS },
      );
      expect(codes.get("INVALID_INPUT") ?? 0).toBeGreaterThan(RUNS / 4);
      await store.close();
    });
  });
}
