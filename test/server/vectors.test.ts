/**
 * The shared vectors (`specs/vectors/*.json`) through the HTTP coordinator, over every backend: each step is
 * `POST /v1/<call>` with the request as its body. Successful bodies must also match the route's response schema
 * (the one in `/openapi.json`).
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ERROR_TABLE, type ErrorCode, type StateStore } from "../../src/index.js";
import { createServer, JSON_ROUTES, type FencedServer } from "../../src/server/index.js";
import { backendFixtures } from "../support/backends.js";
import { CaseEpochs, loadVectors, stepMismatches, withNamespace, type Outcome } from "../support/vectors.js";

for (const fixture of backendFixtures()) {
  describe(`HTTP vectors: ${fixture.name}`, () => {
    let store: StateStore;
    let server: FencedServer;
    beforeAll(async () => {
      store = await fixture.open();
      server = createServer(store, { port: 0 });
    });
    afterAll(async () => {
      await server.close();
      await store.close();
      await fixture.cleanup();
    });

    for (const file of loadVectors()) {
      describe(file.file, () => {
        for (const c of file.cases) {
          it(c.name, async () => {
            // One coordinator serves every case: a fresh namespace keeps them apart.
            const steps = withNamespace(c.steps, `h${randomUUID().slice(0, 8)}`);
            // Epochs are store-wide, so the case's local epochs are bound to the ones this coordinator grants.
            const epochs = new CaseEpochs();
            for (const [i, local] of steps.entries()) {
              const route = JSON_ROUTES.find((r) => r.url === `/v1/${local.call}`)!;
              const res = await server.app.inject({
                method: "POST",
                url: route.url,
                payload: epochs.resolve(local).request as object,
              });
              const body = res.json() as { error?: { code: string; retryable: boolean; details: unknown } };
              const outcome: Outcome = body.error ? { error: body.error } : { result: body };
              epochs.observe(local, outcome);
              const step = epochs.resolve(local);
              const where = `step ${i} (${step.call} ${JSON.stringify(step.request)})`;
              expect(stepMismatches(step, outcome), where).toEqual([]);
              if (body.error) {
                expect(res.statusCode, where).toBe(ERROR_TABLE[body.error.code as ErrorCode].httpStatus);
              } else {
                expect(res.statusCode, where).toBe(200);
                expect(route.response.safeParse(body).success, `${where}: response matches its schema`).toBe(true);
              }
            }
          });
        }
      });
    }
  });
}
