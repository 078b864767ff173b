/**
 * `fenced mcp`: an MCP server over one store (docs/mcp.md), for coding agents and desktop assistants. stdio by
 * default (the client starts it); `--http` serves streamable HTTP at `/mcp`. Needs the optional peer dependency
 * `@modelcontextprotocol/sdk`; without it the command says how to install it and exits 1.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { DEFAULT_PATH, openStore, type OpenStoreOptions } from "../open.js";
import type { Command } from "./command.js";

const SDK = "@modelcontextprotocol/sdk";

const USAGE = `Usage: fenced mcp [--db FILE | --memory | --url postgres://…] [--http [--host ADDR] [--port N]]

Serves the store to MCP clients: tools read, commit, update, claim, renew, release, list, events, effect_begin and
effect_finish. A conflict or fence is a tool result with { code, retryable, message, details, current }.

Options:
  --db FILE          SQLite file (default ${DEFAULT_PATH})
  --memory           keep everything in this process's memory
  --url URL          PostgreSQL (postgres://…)
  --schema NAME      PostgreSQL schema (default fenced_state)
  --http             serve streamable HTTP at /mcp instead of stdio
  --host ADDR        HTTP: address to bind (default 127.0.0.1). Anything but loopback needs a token.
  --port N           HTTP: port; 0 picks a free one (default 7374)
  --token-file FILE  HTTP: file holding the bearer token (or set FENCED_TOKEN)

With --http it prints "fenced mcp: listening on <url> (<backend>)" once ready. Needs ${SDK} (npm install ${SDK}).
`;

export const mcp: Command = {
  summary: "serve the store to MCP clients (stdio or streamable HTTP)",
  usage: USAGE,
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        db: { type: "string" },
        memory: { type: "boolean", default: false },
        url: { type: "string" },
        schema: { type: "string" },
        http: { type: "boolean", default: false },
        host: { type: "string", default: "127.0.0.1" },
        port: { type: "string", default: "7374" },
        "token-file": { type: "string" },
      },
    });
    const fail = (message: string) => {
      process.stderr.write(`fenced mcp: ${message}\n`);
      return 2;
    };
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) return fail("--port must be an integer from 0 to 65535");
    if ([values.db !== undefined, values.memory, values.url !== undefined].filter(Boolean).length > 1) {
      return fail("give at most one of --db, --memory, --url");
    }
    if (values.schema !== undefined && values.url === undefined) return fail("--schema applies to postgres: give --url too");
    const token = values["token-file"] ? readFileSync(values["token-file"], "utf8").trim() : process.env.FENCED_TOKEN;
    if (values["token-file"] && token === "") return fail(`the token file ${values["token-file"]} is empty`);

    const modules = await loadMcp();
    if (!modules) {
      process.stderr.write(`fenced mcp: the MCP SDK is not installed; run: npm install ${SDK}\n`);
      return 1;
    }
    const storeOptions: OpenStoreOptions = values.memory
      ? { memory: true }
      : values.url
        ? { url: values.url, ...(values.schema !== undefined && { schema: values.schema }) }
        : { path: values.db ?? DEFAULT_PATH };
    const store = await openStore(storeOptions);
    try {
      if (values.http) {
        const server = modules.http.createMcpHttpServer(store, {
          host: values.host,
          port,
          ...(token !== undefined && token !== "" && { token }),
        });
        const url = await server.listen();
        const where = values.memory ? "memory" : values.url ? "postgres" : `sqlite ${storeOptions.path}`;
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
  },
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

function stopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    process.once("SIGTERM", resolve);
    process.once("SIGINT", resolve);
  });
}
