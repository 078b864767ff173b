/**
 * `fenced mcp`: an MCP server over one store (docs/mcp.md), for coding agents and desktop assistants. stdio by
 * default (the client starts it); `--http` serves streamable HTTP at `/mcp`. Needs the optional peer dependency
 * `@modelcontextprotocol/sdk`; without it the command says how to install it and exits 1.
 */
import { parseArgs } from "node:util";
import { openStore } from "../open.js";
import {
  MEMORY_ARG,
  STORE_ARGS,
  portOf,
  stopSignal,
  storeChoice,
  storeUsage,
  tokenOf,
  withUsage,
  type Command,
} from "./command.js";

const SDK = "@modelcontextprotocol/sdk";

const USAGE = `Usage: fenced mcp [--db FILE | --memory | --url postgres://…] [--http [--host ADDR] [--port N]]

Serves the store to MCP clients: tools read, commit, update, claim, renew, release, list, events, effect_begin and
effect_finish. A conflict or fence is a tool result with { code, retryable, message, details, current }.

Options:
${storeUsage({ memory: true })}
  --http             serve streamable HTTP at /mcp instead of stdio
  --host ADDR        HTTP: address to bind (default 127.0.0.1). Anything but loopback needs a token.
  --port N           HTTP: port; 0 picks a free one (default 7374)
  --token-file FILE  HTTP: file holding the bearer token (or set FENCED_TOKEN)

With --http it prints "fenced mcp: listening on <url> (<backend>)" once ready. Needs ${SDK} (npm install ${SDK}).
`;

export const mcp: Command = {
  summary: "serve the store to MCP clients (stdio or streamable HTTP)",
  usage: USAGE,
  run: (argv) =>
    withUsage("mcp", async () => {
      const { values } = parseArgs({
        args: argv,
        options: {
          ...STORE_ARGS,
          ...MEMORY_ARG,
          http: { type: "boolean", default: false },
          host: { type: "string", default: "127.0.0.1" },
          port: { type: "string", default: "7374" },
          "token-file": { type: "string" },
        },
      });
      const port = portOf(values.port);
      const { open, where } = storeChoice(values);
      const token = tokenOf(values["token-file"]);

      const modules = await loadMcp();
      if (!modules) {
        process.stderr.write(`fenced mcp: the MCP SDK is not installed; run: npm install ${SDK}\n`);
        return 1;
      }
      const store = await openStore(open);
      try {
        if (values.http) {
          const server = modules.http.createMcpHttpServer(store, {
            host: values.host,
            port,
            ...(token !== undefined && { token }),
          });
          const url = await server.listen();
          process.stdout.write(`fenced mcp: listening on ${url} (${where})\n`);
          await stopSignal();
          await server.close();
        } else {
          // stdout carries the protocol: nothing else may be written to it.
          const server = modules.server.createMcpServer(store);
          await server.connect(new modules.stdio.StdioServerTransport());
          await Promise.race([stopSignal(), new Promise((resolve) => process.stdin.once("end", resolve))]);
          await server.close();
        }
        return 0;
      } finally {
        await store.close();
      }
    }),
};

/** The MCP modules, or `undefined` when the optional SDK is missing. */
async function loadMcp() {
  try {
    const [server, http, stdio] = await Promise.all([
      import("../mcp/server.js"),
      import("../mcp/http.js"),
      import("@modelcontextprotocol/sdk/server/stdio.js"),
    ]);
    return { server, http, stdio };
  } catch (err) {
    const e = err as { code?: string; message?: string };
    if (e.code === "ERR_MODULE_NOT_FOUND" && e.message?.includes(SDK)) return undefined;
    throw err;
  }
}
