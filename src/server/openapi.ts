/**
 * The OpenAPI 3.1 document served at `/openapi.json`, generated from the route table and the core zod schemas
 * (`z.toJSONSchema`), so it cannot drift from what the coordinator validates.
 */
import { z } from "zod";
import { ERROR_TABLE, type ErrorCode } from "../core/errors.js";
import { StateEventSchema, WatchRequestSchema } from "../core/schemas.js";
import type { JsonRoute } from "./routes.js";

const CODES = Object.keys(ERROR_TABLE) as [ErrorCode, ...ErrorCode[]];

/** The wire error body of SPEC §4. */
export const ErrorBodySchema = z.object({
  error: z.object({
    code: z.enum(CODES),
    message: z.string(),
    retryable: z.boolean(),
    details: z.record(z.string(), z.unknown()),
  }),
});

type JsonSchema = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: "input" | "output"): JsonSchema {
  // Refinements (key syntax, "plain JSON only") cannot be expressed in JSON Schema; the coordinator still applies them.
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as JsonSchema;
  return rest;
}

/** `{ status: { description, content } }` for every error status a route may answer with. */
function errorResponses(): Record<string, unknown> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of CODES) {
    const status = ERROR_TABLE[code].httpStatus;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const content = { "application/json": { schema: { $ref: "#/components/schemas/Error" } } };
  return Object.fromEntries([...byStatus].map(([status, codes]) => [String(status), { description: codes.join(", "), content }]));
}

/** Builds the document for `routes` (plus the fixed GET routes). */
export function openApiDocument(routes: readonly JsonRoute[], info: { version: string }): JsonSchema {
  const errors = errorResponses();
  const paths: Record<string, unknown> = {};
  for (const r of routes) {
    paths[r.url] = {
      post: {
        operationId: r.operationId,
        summary: r.summary,
        requestBody: { required: true, content: { "application/json": { schema: jsonSchema(r.body, "input") } } },
        responses: {
          "200": { description: "OK", content: { "application/json": { schema: jsonSchema(r.response, "output") } } },
          ...errors,
        },
      },
    };
  }
  const watchQuery = jsonSchema(WatchRequestSchema, "input") as { properties: Record<string, JsonSchema> };
  paths["/v1/watch"] = {
    get: {
      operationId: "watch",
      summary:
        "Server-sent events: one `state` event per event-log entry under the prefix (id = seq). Resume with Last-Event-ID.",
      parameters: Object.entries(watchQuery.properties).map(([name, schema]) => ({ name, in: "query", required: false, schema })),
      responses: {
        "200": {
          description: "text/event-stream; each `data:` line is a StateEvent",
          content: { "text/event-stream": { schema: jsonSchema(StateEventSchema, "output") } },
        },
        ...errors,
      },
    },
  };
  paths["/healthz"] = { get: { operationId: "healthz", summary: "Liveness and store reachability (no auth).", responses: { "200": { description: "OK" }, ...errors } } };
  paths["/metrics"] = { get: { operationId: "metrics", summary: "Prometheus text exposition.", responses: { "200": { description: "text/plain" }, ...errors } } };
  return {
    openapi: "3.1.0",
    info: { title: "fenced-state coordinator", version: info.version },
    components: {
      schemas: { Error: jsonSchema(ErrorBodySchema, "output") },
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
    },
    security: [{ bearer: [] }, {}],
    paths,
  };
}
