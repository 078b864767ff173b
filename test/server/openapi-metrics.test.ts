/**
 * `/openapi.json` is generated from the core zod schemas (no second copy to drift), `/metrics` is Prometheus text
 * that counts what happened, and `/healthz` reports the backend.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { ERROR_TABLE, openStore, type StateStore } from "../../src/index.js";
import { CommitRequestSchema } from "../../src/backend.js";
import { createServer, JSON_ROUTES, KEY_PATTERN, type FencedServer } from "../../src/server/index.js";

let store: StateStore;
let server: FencedServer;

beforeAll(async () => {
  store = await openStore({ memory: true });
  server = createServer(store, { port: 0 });
});
afterAll(async () => {
  await server.close();
  await store.close();
});

describe("/openapi.json", () => {
  it("documents every route with the core schemas and every error code", async () => {
    const doc = (await server.app.inject({ method: "GET", url: "/openapi.json" })).json() as {
      openapi: string;
      paths: Record<
        string,
        Record<
          string,
          { requestBody?: { content: { "application/json": { schema: unknown } } }; responses: Record<string, unknown> }
        >
      >;
      components: { schemas: { Error: { properties: { error: { properties: { code: { enum: string[] } } } } } } };
    };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths).sort()).toEqual(
      [...JSON_ROUTES.map((r) => r.url), "/v1/threads/{threadId}/status", "/v1/watch", "/healthz", "/metrics"].sort(),
    );
    const { $schema: _, ...commitSchema } = z.toJSONSchema(CommitRequestSchema, {
      io: "input",
      unrepresentable: "any",
    }) as {
      $schema?: string;
      properties: Record<string, object>;
    };
    // The key's refinements and the store's key limit are restated in JSON Schema (test/reliability/openapi-patterns.test.ts),
    // wherever a key appears (the request's key and its guards' keys).
    const key = { ...commitSchema.properties.key, pattern: KEY_PATTERN, maxLength: store.limits.maxKeyLength };
    const withKeys = JSON.parse(
      JSON.stringify(commitSchema).replaceAll(JSON.stringify(commitSchema.properties.key), JSON.stringify(key)),
    ) as object;
    expect(doc.paths["/v1/commit"]!.post!.requestBody!.content["application/json"].schema).toEqual(withKeys);
    expect(doc.components.schemas.Error.properties.error.properties.code.enum.sort()).toEqual(
      Object.keys(ERROR_TABLE).sort(),
    );
    expect(Object.keys(doc.paths["/v1/commit"]!.post!.responses).sort()).toEqual(
      ["200", ...new Set(Object.values(ERROR_TABLE).map((e) => String(e.httpStatus)))].sort(),
    );
    // A wrong method is 405 with Allow; a body that is not JSON in UTF-8 is 415 (issue 16.7).
    expect(doc.paths["/v1/commit"]!.post!.responses["405"]).toMatchObject({
      description: "METHOD_NOT_ALLOWED",
      headers: { Allow: { schema: { type: "string" } } },
    });
    expect(doc.paths["/v1/commit"]!.post!.responses["415"]).toMatchObject({ description: "UNSUPPORTED_MEDIA_TYPE" });
  });
});

describe("/metrics and /healthz", () => {
  it("counts requests by route and status, and commit outcomes by code", async () => {
    const post = (payload: object) => server.app.inject({ method: "POST", url: "/v1/commit", payload });
    await post({ key: "m/k", op: { type: "set", value: 1 }, opId: "m-1" });
    await post({ key: "m/k", op: { type: "set", value: 1 }, opId: "m-1" });
    await post({ key: "m/k", op: { type: "set", value: 2 }, expectVersion: 0 });
    await post({ key: "" });
    const text = (await server.app.inject({ method: "GET", url: "/metrics" })).body;
    expect(text).toContain("# TYPE fenced_http_requests_total counter");
    expect(text).toMatch(/^fenced_http_requests_total\{method="POST",route="\/v1\/commit",status="200"\} 2$/m);
    expect(text).toMatch(/^fenced_http_requests_total\{method="POST",route="\/v1\/commit",status="409"\} 1$/m);
    expect(text).toMatch(/^fenced_http_requests_total\{method="POST",route="\/v1\/commit",status="400"\} 1$/m);
    expect(text).toMatch(/^fenced_commits_total\{outcome="committed"\} 1$/m);
    expect(text).toMatch(/^fenced_commits_total\{outcome="replayed"\} 1$/m);
    expect(text).toMatch(/^fenced_commits_total\{outcome="VERSION_CONFLICT"\} 1$/m);
    expect(text).toMatch(/^fenced_http_request_duration_seconds_count\{route="\/v1\/commit"\} 4$/m);
    expect(text).toMatch(/^fenced_event_log_last_seq 3$/m);
  });

  it("reports the backend and the newest seq at /healthz", async () => {
    const res = await server.app.inject({ method: "GET", url: "/healthz" });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: "ok", backend: "memory", lastSeq: await store.backend.lastSeq() });
  });
});
