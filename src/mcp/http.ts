/**
 * `fenced mcp --http`: the MCP server over streamable HTTP at `/mcp`, stateless (each POST is answered on its own, so
 * any number of clients share one store and nothing is kept between requests). Access follows the coordinator's
 * rules exactly, through the same Fastify plugin (src/server/auth.ts): without a token it binds loopback only and
 * serves loopback clients whose `Host` and `Origin` name loopback (no DNS rebinding); with one, every request needs
 * `Authorization: Bearer <token>`.
 */
import Fastify from "fastify";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { StateStore } from "../core/store.js";
import { assertBindable, bearerAuth } from "../server/auth.js";
import { createMcpServer } from "./server.js";

export interface McpHttpOptions {
  /** Address to bind; default `127.0.0.1`. Anything but loopback needs `token`. */
  host?: string;
  /** Port; `0` picks a free one. Default 7374. */
  port?: number;
  /** Bearer token; without it only loopback clients are served. */
  token?: string;
}

/** The default port of `fenced mcp --http` (the coordinator's is 7373). */
export const DEFAULT_MCP_PORT = 7374;

export interface McpHttpServer {
  /** Listens; resolves to the endpoint URL, e.g. `http://127.0.0.1:7374/mcp`. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

/** Builds the streamable HTTP endpoint over `store`. Throws `INVALID_INPUT` for a non-loopback host without a token. */
export function createMcpHttpServer(store: StateStore, options: McpHttpOptions = {}): McpHttpServer {
  const host = options.host ?? "127.0.0.1";
  const port = options.port ?? DEFAULT_MCP_PORT;
  assertBindable(host, options.token);
  const app = Fastify({ logger: false });
  app.setErrorHandler((err, _request, reply) => {
    const status = (err as { statusCode?: number }).statusCode ?? 500;
    const fenced = err as { toJSON?: () => unknown; httpStatus?: number };
    if (typeof fenced.toJSON === "function" && fenced.httpStatus)
      return reply.code(fenced.httpStatus).send(fenced.toJSON());
    return reply.code(status).send({
      jsonrpc: "2.0",
      error: { code: -32600, message: err instanceof Error ? err.message : "bad request" },
      id: null,
    });
  });
  app.register(bearerAuth, options.token === undefined ? {} : { token: options.token });
  app.post("/mcp", async (request, reply) => {
    const server = createMcpServer(store);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    reply.hijack();
    reply.raw.on("close", () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(request.raw, reply.raw, request.body);
  });
  // Stateless: there is no session to stream notifications on or to end.
  const notAllowed = async (
    _request: unknown,
    reply: { code(n: number): { header(k: string, v: string): { send(b: unknown): unknown } } },
  ) =>
    reply
      .code(405)
      .header("allow", "POST")
      .send({
        jsonrpc: "2.0",
        error: { code: -32000, message: "method not allowed: this server is stateless; POST /mcp" },
        id: null,
      });
  app.get("/mcp", notAllowed);
  app.delete("/mcp", notAllowed);
  return {
    async listen() {
      await app.listen({ host, port });
      const { port: bound } = app.server.address() as { port: number };
      return `http://${host.includes(":") ? `[${host}]` : host}:${bound}/mcp`;
    },
    close: () => app.close(),
  };
}
