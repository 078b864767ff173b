/**
 * The OpenAPI 3.1 document served at `/openapi.json`, generated from the route table and the core zod schemas
 * (`z.toJSONSchema`), so it cannot drift from what the coordinator validates.
 */
import { z } from "zod";
import { ERROR_TABLE, type ErrorCode } from "../core/errors.js";
import {
  DEFAULT_LIMITS,
  KeySchema,
  PrefixSchema,
  StateEventSchema,
  WatchRequestSchema,
  type Limits,
} from "../core/schemas.js";
import type { GetRoute, JsonRoute } from "./routes.js";

const CODES = Object.keys(ERROR_TABLE) as [ErrorCode, ...ErrorCode[]];

/** The wire error body of docs/design.md §4. */
export const ErrorBodySchema = z.object({
  error: z.object({
    code: z.enum(CODES),
    message: z.string(),
    retryable: z.boolean(),
    details: z.record(z.string(), z.unknown()),
  }),
});

type JsonSchema = Record<string, unknown>;

/**
 * `KeySchema`'s refinements as a JSON Schema pattern: one or more `/`-separated non-empty segments without control
 * characters or lone surrogates (a pattern is read with the `u` flag, where a paired surrogate is one code point and a
 * lone one is in `\uD800-\uDFFF`). test/reliability/openapi-patterns.test.ts keeps it equal to the refinements.
 */
export const KEY_PATTERN = "^[^/\\x00-\\x1f\\x7f\\uD800-\\uDFFF]+(/[^/\\x00-\\x1f\\x7f\\uD800-\\uDFFF]+)*$";
/** `PrefixSchema`'s refinements as a pattern: no control characters, no lone surrogates. */
export const PREFIX_PATTERN = "^[^\\x00-\\x1f\\x7f\\uD800-\\uDFFF]*$";

/** A zod schema as JSON Schema, its key and prefix refinements restated as patterns (see `override`). */
export function jsonSchema(schema: z.ZodType, io: "input" | "output", limits: Limits = DEFAULT_LIMITS): JsonSchema {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, {
    io,
    unrepresentable: "any",
    // Refinements are code, not JSON Schema: the key and prefix rules are restated as patterns, and the store's key
    // limit as maxLength, so that every request this document calls valid is one the coordinator accepts (a client
    // or a fuzzer generating from it finds no hidden rule). The coordinator validates with the zod schemas either way.
    override: ({ zodSchema, jsonSchema: out }) => {
      if (zodSchema === KeySchema) Object.assign(out, { pattern: KEY_PATTERN, maxLength: limits.maxKeyLength });
      else if (zodSchema === PrefixSchema) out.pattern = PREFIX_PATTERN;
    },
  }) as JsonSchema;
  return rest;
}

/**
 * One server-sent event of `/v1/watch`, as OpenAPI tools read an event stream's schema (one event: its `event`,
 * `id` and `data` fields): a `state` event carries a `StateEvent`, an `error` event the wire error body.
 */
function watchEventSchema(): JsonSchema {
  const data = (contentSchema: JsonSchema) => ({ type: "string", contentMediaType: "application/json", contentSchema });
  return {
    oneOf: [
      {
        type: "object",
        required: ["event", "id", "data"],
        properties: {
          event: { const: "state" },
          id: { type: "string", pattern: "^[0-9]+$" },
          data: data(jsonSchema(StateEventSchema, "output")),
        },
      },
      {
        type: "object",
        required: ["event", "data"],
        properties: { event: { const: "error" }, data: data({ $ref: "#/components/schemas/Error" }) },
      },
    ],
  };
}

/** `{ status: { description, content } }` for every error status a route may answer with. */
function errorResponses(): Record<string, unknown> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of CODES) {
    const status = ERROR_TABLE[code].httpStatus;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const content = { "application/json": { schema: { $ref: "#/components/schemas/Error" } } };
  // A 405 names the methods the path does answer, as HTTP requires.
  const allow = { Allow: { description: "The methods this path answers, e.g. `POST`", schema: { type: "string" } } };
  return Object.fromEntries(
    [...byStatus].map(([status, codes]) => [
      String(status),
      { description: codes.join(", "), ...(codes.includes("METHOD_NOT_ALLOWED") && { headers: allow }), content },
    ]),
  );
}

/**
 * Builds the document for `routes` (plus the fixed GET routes), with the key limit of the store being served. With
 * `tokenRequired`, every operation but `/healthz` requires the bearer token (so tools can check that it is enforced);
 * without, the token is optional (loopback clients are served without one).
 */
export function openApiDocument(
  routes: readonly JsonRoute[],
  info: { version: string; limits?: Limits; tokenRequired?: boolean },
  getRoutes: readonly GetRoute[] = [],
): JsonSchema {
  const errors = errorResponses();
  const paths: Record<string, unknown> = {};
  for (const r of getRoutes) {
    const fields = (schema: z.ZodType, where: "path" | "query") =>
      Object.entries((jsonSchema(schema, "input") as { properties: Record<string, JsonSchema> }).properties).map(
        ([name, s]) => ({
          name,
          in: where,
          required: where === "path",
          schema: s,
        }),
      );
    paths[r.url.replace(/:(\w+)/g, "{$1}")] = {
      get: {
        operationId: r.operationId,
        summary: r.summary,
        parameters: [...fields(r.params, "path"), ...fields(r.query, "query")],
        responses: {
          "200": { description: "OK", content: { "application/json": { schema: jsonSchema(r.response, "output") } } },
          ...errors,
        },
      },
    };
  }
  for (const r of routes) {
    paths[r.url] = {
      post: {
        operationId: r.operationId,
        summary: r.summary,
        requestBody: {
          required: true,
          content: { "application/json": { schema: jsonSchema(r.body, "input", info.limits) } },
        },
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
      parameters: Object.entries(watchQuery.properties).map(([name, schema]) => ({
        name,
        in: "query",
        required: false,
        schema,
      })),
      responses: {
        "200": {
          description:
            "text/event-stream; each `state` event's data is a StateEvent, an `error` event's the error body",
          content: { "text/event-stream": { schema: watchEventSchema() } },
        },
        ...errors,
      },
    },
  };
  paths["/healthz"] = {
    get: {
      operationId: "healthz",
      summary: "Liveness and store reachability (no auth).",
      security: [],
      responses: { "200": { description: "OK" }, ...errors },
    },
  };
  paths["/metrics"] = {
    get: {
      operationId: "metrics",
      summary: "Prometheus text exposition.",
      responses: { "200": { description: "text/plain" }, ...errors },
    },
  };
  return {
    openapi: "3.1.0",
    info: { title: "fenced-state coordinator", version: info.version },
    components: {
      schemas: { Error: jsonSchema(ErrorBodySchema, "output") },
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
    },
    security: info.tokenRequired ? [{ bearer: [] }] : [{ bearer: [] }, {}],
    paths,
  };
}
