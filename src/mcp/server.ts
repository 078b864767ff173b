/**
 * The MCP server of `fenced mcp` over one store: lists the tools of `MCP_TOOLS` and calls them. Every answer to a
 * tool call is a tool result, never a protocol error: a conflict, a fence or bad input comes back as `isError: true`
 * with structured content the model can act on — `{ code, retryable, message, details, current }`, where `current`
 * is the version and value of the key that failed the check, so a model can re-read nothing and retry.
 *
 * It is built on the SDK's low-level `Server` rather than `McpServer`: `McpServer` validates arguments itself and
 * answers a failure with a bare text message, where a model needs the typed `INVALID_INPUT` every other door returns.
 */
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import {
  CallToolRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ErrorCode,
  type CallToolResult,
} from "@modelcontextprotocol/sdk/types.js";
import { FencedStateError, UnavailableError } from "../core/errors.js";
import type { Json } from "../core/json.js";
import type { StateStore } from "../core/store.js";
import { parseInput } from "../core/validate.js";
import { jsonSchema } from "../server/openapi.js";
import { MCP_TOOLS, type McpTool } from "./tools.js";

/** The name and version the server reports in `initialize`. */
export const MCP_SERVER_INFO = { name: "fenced-state", version: "1" } as const;

/** What a failed tool call carries in `structuredContent`. */
export interface ToolError {
  code: FencedStateError["code"];
  retryable: boolean;
  message: string;
  details: unknown;
  /** For `VERSION_CONFLICT` and `FENCED`: the failing key's state now. */
  current?: { key: string; exists: boolean; version: number; epoch: number; value?: Json };
}

/** Builds an MCP server over `store`; connect it to a transport (stdio, streamable HTTP, in-memory). */
export function createMcpServer(store: StateStore): Server {
  const server = new Server(MCP_SERVER_INFO, {
    capabilities: { tools: {} },
    instructions:
      "Shared, versioned state with fencing. Read a key, then commit with expectVersion set to the version you read; " +
      "on VERSION_CONFLICT re-read and redo your change. Hold a claim (its epoch) while you work on a key and pass it. " +
      "Before an external side effect call effect_begin with guards on what you read, and fire only if proceed is true.",
  });
  const tools = new Map(MCP_TOOLS.map((t) => [t.name, t]));
  const listed = MCP_TOOLS.map((t) => ({
    name: t.name,
    description: t.description,
    inputSchema: jsonSchema(t.input, "input", store.limits) as { type: "object" },
  }));
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: listed }));
  server.setRequestHandler(CallToolRequestSchema, async (request) => {
    const t = tools.get(request.params.name);
    if (!t) throw new McpError(ErrorCode.InvalidParams, `unknown tool "${request.params.name}"; call tools/list`);
    return callTool(store, t, request.params.arguments ?? {});
  });
  return server;
}

/** Runs one tool; every outcome, failures included, is a `CallToolResult`. */
export async function callTool(store: StateStore, t: McpTool, args: unknown): Promise<CallToolResult> {
  try {
    const result = (await t.handle(store, parseInput(t.input, args))) as Record<string, unknown>;
    return { content: [{ type: "text", text: JSON.stringify(result) }], structuredContent: result };
  } catch (err) {
    const error =
      err instanceof FencedStateError
        ? err
        : new UnavailableError({ cause: err instanceof Error ? err.message : String(err) });
    const body: ToolError = {
      code: error.code,
      retryable: error.retryable,
      message: error.message,
      details: error.details,
    };
    const current = await currentOf(store, error);
    if (current) body.current = current;
    return {
      isError: true,
      content: [{ type: "text", text: `${error.code}: ${error.message}\n${JSON.stringify(body)}` }],
      structuredContent: { ...body },
    };
  }
}

/** The state of the key a conflict or fence names, so the model can decide without another read. */
async function currentOf(store: StateStore, error: FencedStateError): Promise<ToolError["current"]> {
  if (error.code !== "VERSION_CONFLICT" && error.code !== "FENCED") return undefined;
  const key = (error.details as { key: string }).key;
  try {
    const { updatedAt: _, ...record } = await store.read(key);
    return record as NonNullable<ToolError["current"]>;
  } catch {
    return undefined; // the error itself is the answer; a failed read must not hide it
  }
}
