/**
 * `fenced serve`: the HTTP coordinator over one store, for clients in other languages (the Python client, CrewAI,
 * AutoGen). It prints one line with its URL once it listens, and on SIGTERM/SIGINT finishes in-flight commits (cutting
 * connections still busy after the grace period), closes the store and exits 0.
 */
import { parseArgs } from "node:util";
import { openStore } from "../open.js";
import {
  createServer,
  DEFAULT_BODY_LIMIT,
  DEFAULT_PORT,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_SHUTDOWN_GRACE_MS,
} from "../server/index.js";
import { FencedFiles } from "../files/files.js";
import {
  MEMORY_ARG,
  STORE_ARGS,
  UsageError,
  portOf,
  stopSignal,
  storeChoice,
  storeUsage,
  tokenOf,
  withUsage,
  type Command,
} from "./command.js";

const USAGE = `Usage: fenced serve [--host ADDR] [--port N] [--db FILE | --memory | --url postgres://… [--schema NAME]]

Serves the store over HTTP/JSON (OpenAPI at /openapi.json, Prometheus text at /metrics, liveness at /healthz).

Options:
  --host ADDR        address to bind (default 127.0.0.1). Anything but loopback needs a token.
  --port N           port to bind; 0 picks a free one (default ${DEFAULT_PORT})
${storeUsage({ memory: true })}
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
  run: (argv) =>
    withUsage("serve", async () => {
      const { values } = parseArgs({
        args: argv,
        options: {
          ...STORE_ARGS,
          ...MEMORY_ARG,
          host: { type: "string", default: "127.0.0.1" },
          port: { type: "string", default: String(DEFAULT_PORT) },
          "token-file": { type: "string" },
          "body-limit": { type: "string", default: String(DEFAULT_BODY_LIMIT) },
          "request-timeout-ms": { type: "string", default: String(DEFAULT_REQUEST_TIMEOUT_MS) },
          "shutdown-grace-ms": { type: "string", default: String(DEFAULT_SHUTDOWN_GRACE_MS) },
          "log-level": { type: "string", default: "warn" },
          "files-dir": { type: "string" },
          "files-id": { type: "string" },
        },
      });
      const port = portOf(values.port);
      const bodyLimit = integerOf(values["body-limit"], "--body-limit", 1024);
      const requestTimeoutMs = integerOf(values["request-timeout-ms"], "--request-timeout-ms", 1);
      const shutdownGraceMs = integerOf(values["shutdown-grace-ms"], "--shutdown-grace-ms", 0);
      const { open, where } = storeChoice(values);
      if (values["files-id"] !== undefined && values["files-dir"] === undefined)
        throw new UsageError("--files-id needs --files-dir");
      const token = tokenOf(values["token-file"]);

      // Requests arrive in separate callbacks of each event-loop turn: they share a group commit (SQLite).
      const store = await openStore({ ...open, groupCommit: "per-turn" });
      try {
        const server = createServer(store, {
          host: values.host,
          port,
          bodyLimit,
          requestTimeoutMs,
          shutdownGraceMs,
          logger: { level: values["log-level"] },
          ...(token !== undefined && { token }),
          ...(values["files-dir"] !== undefined && {
            files: new FencedFiles(store, {
              dir: values["files-dir"],
              ...(values["files-id"] !== undefined && { id: values["files-id"] }),
            }),
          }),
        });
        const url = await server.listen();
        process.stdout.write(`fenced serve: listening on ${url} (${where})\n`);
        const signal = await stopSignal();
        process.stdout.write(`fenced serve: ${signal}: finishing in-flight requests\n`);
        await server.close();
        return 0;
      } finally {
        await store.close();
      }
    }),
};

/** A whole number of at least `min` from a flag's text. */
function integerOf(text: string, flag: string, min: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag} must be an integer of at least ${min}`);
  return n;
}
