/**
 * The input rules of `FencedStore` (store.ts): every argument of every public method and every operation of `batch`
 * is checked here before anything is read or written, so that bad input is `INVALID_INPUT` on every backend — never
 * a `TypeError` from a null, and never LangGraph's own `InvalidNamespaceError` (issue 13 item 11).
 */
import {
  InvalidNamespaceError,
  validateNamespace,
  type GetOperation,
  type ListNamespacesOperation,
  type Operation,
  type PutOperation,
  type SearchOperation,
} from "@langchain/langgraph-checkpoint";
import { z } from "zod";
import { InvalidInputError } from "../core/errors.js";
import { BackoffOptionsSchema, FunctionSchema, TextSchema } from "../core/schemas.js";
import { parseInput } from "../core/validate.js";

/** Labels are well-formed strings here; LangGraph's own label rules (no `.`, `:`, NUL, …) follow in `namespace`. */
const Namespace = z.array(TextSchema);
const ItemKey = TextSchema;
const Count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
/** `put`'s value: an object, or `null` to delete. Its contents are checked by `commit` like every value. */
const ItemValue = z.union([z.record(z.string(), z.unknown()), z.null()]);
const Index = z.union([z.literal(false), z.array(z.string())]);

/** Options LangGraph defines; loose, so that a field LangGraph adds later is not refused. */
const SearchOptions = z.looseObject({
  filter: z.record(z.string(), z.unknown()).optional(),
  limit: Count.optional(),
  offset: Count.optional(),
  query: z.string().optional(),
});
const ListNamespacesOptions = z.looseObject({
  prefix: Namespace.optional(),
  suffix: Namespace.optional(),
  maxDepth: Count.optional(),
  limit: Count.optional(),
  offset: Count.optional(),
});
const MatchCondition = z.looseObject({ matchType: z.enum(["prefix", "suffix"]), path: Namespace });

/** What reads accept (LangGraph's `get`/`search`/`delete`): the empty namespace and the reserved root too. */
const LOOSE = { allowEmpty: true, allowReservedRoot: true } as const;

/** The arguments of each public method, as one object: a bad one is named in the issue's path. */
export const StoreArgs = {
  get: z.object({ namespace: Namespace, key: ItemKey }),
  search: z.object({ namespacePrefix: Namespace, options: SearchOptions.optional() }),
  put: z.object({ namespace: Namespace, key: ItemKey, value: ItemValue, index: Index.optional() }),
  delete: z.object({ namespace: Namespace, key: ItemKey }),
  listNamespaces: z.object({ options: ListNamespacesOptions.optional() }),
  putIfVersion: z.object({
    namespace: Namespace,
    key: ItemKey,
    value: ItemValue,
    expectVersion: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  }),
  update: z.object({
    namespace: Namespace,
    key: ItemKey,
    fn: FunctionSchema,
    options: BackoffOptionsSchema.optional(),
  }),
  batch: z.array(z.record(z.string(), z.unknown())),
};

/**
 * LangGraph's namespace rules (`validateNamespace`), reported as `INVALID_INPUT` at `path`. Writes (`strict`) refuse
 * the empty namespace and the reserved root `langgraph`; reads accept both, as LangGraph's `BaseStore` does.
 */
export function checkNamespace(namespace: string[], path: (string | number)[], strict: boolean): void {
  try {
    validateNamespace(namespace, strict ? {} : LOOSE);
  } catch (err) {
    if (!(err instanceof InvalidNamespaceError)) throw err;
    throw new InvalidInputError({ issues: [{ path, message: err.message }] });
  }
}

/** The shape `batch` reads each kind of operation as; loose, so that a field LangGraph adds later is not refused. */
const OperationSchemas = {
  get: z.looseObject({ namespace: Namespace, key: ItemKey }),
  search: SearchOptions.extend({ namespacePrefix: Namespace }),
  put: z.looseObject({ namespace: Namespace, key: ItemKey, value: ItemValue, index: Index.optional() }),
  listNamespaces: z.looseObject({
    matchConditions: z.array(MatchCondition).optional(),
    maxDepth: Count.optional(),
    limit: Count.optional(),
    offset: Count.optional(),
  }),
};

/** Checks one operation of `batch` (already known to be an object) by the shape `batch` will read it as. */
export function checkOperation(o: Record<string, unknown>, i: number): Operation {
  const at = (schema: z.ZodType) => parseInput(schema, o, ["operations", i]);
  if ("key" in o && "namespace" in o && !("value" in o)) {
    at(OperationSchemas.get);
    checkNamespace(o.namespace as string[], ["operations", i, "namespace"], false);
    return o as unknown as GetOperation;
  }
  if ("namespacePrefix" in o) {
    at(OperationSchemas.search);
    checkNamespace(o.namespacePrefix as string[], ["operations", i, "namespacePrefix"], false);
    return o as unknown as SearchOperation;
  }
  if ("value" in o) {
    at(OperationSchemas.put);
    checkNamespace(o.namespace as string[], ["operations", i, "namespace"], o.value !== null);
    return o as unknown as PutOperation;
  }
  if ("matchConditions" in o) {
    at(OperationSchemas.listNamespaces);
    return o as unknown as ListNamespacesOperation;
  }
  throw new InvalidInputError({ issues: [{ path: ["operations", i], message: "unknown store operation" }] });
}
