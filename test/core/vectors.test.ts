/**
 * The shared vectors (`specs/vectors/*.json`) against the core `StateStore`, on every backend. The HTTP runner
 * (`test/server/vectors.test.ts`) and the Python runner (`adapters/python/tests/test_vectors.py`) run the same files.
 */
import { afterAll, describe, expect, it } from "vitest";
import type { StateStore } from "../../src/index.js";
import { backendFixtures } from "../support/backends.js";
import {
  CaseEpochs,
  loadVectors,
  outcomeOf,
  stepMismatches,
  withNamespace,
  type VectorStep,
} from "../support/vectors.js";

/** Each call as the core API takes it; the request is the wire body, passed on unvalidated. */
function callStore(store: StateStore, step: VectorStep): Promise<unknown> {
  // Vectors hold bad input on purpose: the core must reject it itself, so nothing is narrowed here (hence `as never`).
  const r = step.request as Record<string, unknown>;
  switch (step.call) {
    case "read":
      return store.read(r.key as never);
    case "read-many":
      return store.readMany(r.keys as never);
    case "list":
      return store.list(r as never).then((records) => ({ records }));
    case "commit":
      return store.commit(r as never);
    case "txn": {
      const { requests, ...options } = r;
      return store.txn(requests as never, options);
    }
    case "claim":
      return store.claim(r as never);
    case "renew": {
      const { ttlMs, ...ref } = r;
      return store.renew(ref as never, ttlMs as never);
    }
    case "release":
      return store.release(r as never).then((released) => ({ released }));
    case "events": {
      const { prefix, ...options } = r;
      return store.events(prefix as never, options).then((events) => ({ events }));
    }
  }
}

const files = loadVectors();

for (const fixture of backendFixtures()) {
  describe(`vectors: ${fixture.name}`, () => {
    afterAll(() => fixture.cleanup());
    it("finds the vector files", () => {
      expect(files.map((f) => f.file)).toEqual(
        expect.arrayContaining([
          "commit.json",
          "events.json",
          "fencing.json",
          "idempotency.json",
          "invalid-input.json",
          "numbers.json",
          "proto.json",
          "txn.json",
          "unicode-keys.json",
        ]),
      );
    });
    for (const file of files) {
      describe(file.file, () => {
        for (const c of file.cases) {
          it(c.name, async () => {
            const store = await fixture.open();
            try {
              const epochs = new CaseEpochs();
              for (const [i, local] of withNamespace(c.steps, "vec").entries()) {
                const outcome = await outcomeOf(() => callStore(store, epochs.resolve(local)));
                epochs.observe(local, outcome);
                const step = epochs.resolve(local);
                expect(
                  stepMismatches(step, outcome),
                  `step ${i} (${step.call} ${JSON.stringify(step.request)})`,
                ).toEqual([]);
              }
            } finally {
              await store.close();
            }
          });
        }
      });
    }
  });
}
