/**
 * `fenced serve`: the HTTP coordinator over one store, for clients in other languages (the Python client, CrewAI,
 * AutoGen). It prints one line with its URL once it listens, and on SIGTERM/SIGINT finishes in-flight commits (cutting
 * connections still busy after the grace period), closes the store and exits 0.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { openStore, DEFAULT_PATH, type OpenStoreOptions } from "../open.js";
import {
  createServer,
  DEFAULT_BODY_LIMIT,
  DEFAULT_PORT,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_SHUTDOWN_GRACE_MS,
} from "../server/index.js";
import { FencedFiles } from "../files/files.js";
import type { Command } from "./command.js";

const USAGE = `Usage: fenced serve [--host ADDR] [--port N] [--db FILE | --memory | --url postgres://…]

Serves the store over HTTP/JSON (OpenAPI at /openapi.json, Prometheus text at /metrics, liveness at /healthz).

Options:
  --host ADDR        address to bind (default 127.0.0.1). Anything but loopback needs a token.
  --port N           port to bind; 0 picks a free one (default ${DEFAULT_PORT})
  --db FILE          SQLite file (default ${DEFAULT_PATH})
  --memory           keep everything in this process's memory
  --url URL          PostgreSQL (postgres://…)
  --token-file FILE  file holding the bearer token (or set FENCED_TOKEN). Without a token only loopback clients
                     are served.
  --body-limit N     largest request body in bytes (default ${DEFAULT_BODY_LIMIT})
  --request-timeout-ms N
                     time a client has to send a whole request (default ${DEFAULT_REQUEST_TIMEOUT_MS}); then 408
  --shutdown-grace-ms N
                     on SIGTERM/SIGINT, how long busy connections may finish before they are cut
                     (default ${DEFAULT_SHUTDOWN_GRACE_MS})
  --files-dir DIR    also serve this directory as fenced files under /v1/files/* (docs/files.md)
  --files-id ID      its name in the store (default: its base name and a hash of its real path)
  --log-level LEVEL  fatal | error | warn | info | debug | trace (default warn; the token is never logged)

Prints "fenced serve: listening on <url> (<backend>)" once ready.
`;

export const serve: Command = {
  summary: "serve the store over HTTP for Python, CrewAI and AutoGen clients",
  usage: USAGE,
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        host: { type: "string", default: "127.0.0.1" },
        port: { type: "string", default: String(DEFAULT_PORT) },
        db: { type: "string" },
        memory: { type: "boolean", default: false },
        url: { type: "string" },
        "token-file": { type: "string" },
        "body-limit": { type: "string", default: String(DEFAULT_BODY_LIMIT) },
        "request-timeout-ms": { type: "string", default: String(DEFAULT_REQUEST_TIMEOUT_MS) },
        "shutdown-grace-ms": { type: "string", default: String(DEFAULT_SHUTDOWN_GRACE_MS) },
        "log-level": { type: "string", default: "warn" },
        "files-dir": { type: "string" },
        "files-id": { type: "string" },
      },
    });
    const port = Number(values.port);
    const bodyLimit = Number(values["body-limit"]);
    const requestTimeoutMs = Number(values["request-timeout-ms"]);
    const shutdownGraceMs = Number(values["shutdown-grace-ms"]);
    const fail = (message: string) => {
      process.stderr.write(`fenced serve: ${message}\n`);
      return 2;
    };
    if (!Number.isInteger(port) || port < 0 || port > 65535) return fail("--port must be an integer from 0 to 65535");
    if (!Number.isInteger(bodyLimit) || bodyLimit < 1024) return fail("--body-limit must be an integer of at least 1024");
    if (!Number.isInteger(requestTimeoutMs) || requestTimeoutMs < 1) return fail("--request-timeout-ms must be a positive integer");
    if (!Number.isInteger(shutdownGraceMs) || shutdownGraceMs < 0) return fail("--shutdown-grace-ms must be an integer of at least 0");
    if ([values.db !== undefined, values.memory, values.url !== undefined].filter(Boolean).length > 1) {
      return fail("give at most one of --db, --memory, --url");
    }
    if (values["files-id"] !== undefined && values["files-dir"] === undefined) return fail("--files-id needs --files-dir");
    const token = values["token-file"] ? readFileSync(values["token-file"], "utf8").trim() : process.env.FENCED_TOKEN;
    // Asking for a token and getting none must not quietly mean "no auth".
    if (values["token-file"] && token === "") return fail(`the token file ${values["token-file"]} is empty`);

    const storeOptions: OpenStoreOptions = values.memory ? { memory: true } : values.url ? { url: values.url } : { path: values.db ?? DEFAULT_PATH };
    const store = await openStore(storeOptions);
    try {
      const server = createServer(store, {
        host: values.host,
        port,
        bodyLimit,
        requestTimeoutMs,
        shutdownGraceMs,
        logger: { level: values["log-level"] },
        ...(token !== undefined && token !== "" && { token }),
        ...(values["files-dir"] !== undefined && {
          files: new FencedFiles(store, { dir: values["files-dir"], ...(values["files-id"] !== undefined && { id: values["files-id"] }) }),
        }),
      });
      const url = await server.listen();
      const where = values.memory ? "memory" : values.url ? "postgres" : `sqlite ${storeOptions.path}`;
      process.stdout.write(`fenced serve: listening on ${url} (${where})\n`);
      const signal = await new Promise<NodeJS.Signals>((resolve) => {
        process.once("SIGTERM", resolve);
        process.once("SIGINT", resolve);
      });
      process.stdout.write(`fenced serve: ${signal}: finishing in-flight requests\n`);
      await server.close();
      return 0;
    } finally {
      await store.close();
    }
  },
};
