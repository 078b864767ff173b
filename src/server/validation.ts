/**
 * Fastify validates request parts with the core zod schemas through this compiler, so a route's schema is the very
 * object `commit` parses with, and a rejection is the core's `INVALID_INPUT` with zod's issues.
 */
import type { FastifySchemaCompiler } from "fastify";
import { z } from "zod";
import { parseInput } from "../core/validate.js";

/** Compiles a zod schema given as a route's `body` or `querystring` schema. */
export const zodValidatorCompiler: FastifySchemaCompiler<z.ZodType> = ({ schema, httpPart }) => {
  const scalars = httpPart === "querystring" ? queryScalars(schema) : undefined;
  return (data: unknown) => {
    try {
      return { value: parseInput(schema, scalars ? coerceQuery(data, scalars) : data) };
    } catch (err) {
      return { error: err as Error };
    }
  };
};

type Scalar = "number" | "boolean";

/** The number and boolean fields of an object schema: a query string carries them as text. */
function queryScalars(schema: z.ZodType): Map<string, Scalar> {
  const scalars = new Map<string, Scalar>();
  if (!(schema instanceof z.ZodObject)) return scalars;
  for (const [name, field] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
    let inner: z.ZodType = field;
    while (inner instanceof z.ZodDefault || inner instanceof z.ZodOptional) inner = inner.unwrap() as z.ZodType;
    if (inner instanceof z.ZodNumber) scalars.set(name, "number");
    else if (inner instanceof z.ZodBoolean) scalars.set(name, "boolean");
  }
  return scalars;
}

/** Converts `"12"` / `"true"` for number / boolean fields; anything else is left for the schema to reject. */
function coerceQuery(data: unknown, scalars: Map<string, Scalar>): unknown {
  if (typeof data !== "object" || data === null) return data;
  const out: Record<string, unknown> = { ...(data as Record<string, unknown>) };
  for (const [name, kind] of scalars) {
    const v = out[name];
    if (typeof v !== "string") continue;
    if (kind === "number" && /^-?\d+(\.\d+)?$/.test(v)) out[name] = Number(v);
    if (kind === "boolean" && (v === "true" || v === "false")) out[name] = v === "true";
  }
  return out;
}
