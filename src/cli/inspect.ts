/**
 * `fenced inspect`: a read-only web page over a store — who wrote what, who lost (conflicts), who was fenced, which
 * run holds each LangGraph thread and where threads forked. Loopback only unless a token protects it, like
 * `fenced serve`. Prints one line with the page's URL once it listens; SIGTERM/SIGINT stop it.
 */
import { existsSync, readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { openStore, DEFAULT_PATH, type OpenStoreOptions } from "../open.js";
import { createInspector, DEFAULT_INSPECT_PORT } from "../inspect/server.js";
import type { Command } from "./command.js";

const USAGE = `Usage: fenced inspect [--db FILE | --url postgres://…] [--host ADDR] [--port N]

Serves a read-only page over the store: keys with their claims, the event log live (committed, conflict, fenced,
replayed), and LangGraph threads as lineage trees with the state at each checkpoint.

Options:
  --db FILE              SQLite file (default ${DEFAULT_PATH})
  --url URL              PostgreSQL (postgres://…)
  --schema NAME          PostgreSQL schema (default fenced_state)
  --host ADDR            address to bind (default 127.0.0.1). Anything but loopback needs a token.
  --port N               port to bind; 0 picks a free one (default ${DEFAULT_INSPECT_PORT})
  --token-file FILE      file holding the bearer token (or set FENCED_TOKEN); the page asks for it
  --langgraph-prefix P   the LangGraph saver's key prefix (default langgraph)

Prints "fenced inspect: <url> (<backend>)" once ready.
`;

export const inspect: Command = {
  summary: "open a read-only web page: keys, claims, the live event log, LangGraph thread lineages",
  usage: USAGE,
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        db: { type: "string" },
        url: { type: "string" },
        schema: { type: "string" },
        host: { type: "string", default: "127.0.0.1" },
        port: { type: "string", default: String(DEFAULT_INSPECT_PORT) },
        "token-file": { type: "string" },
        "langgraph-prefix": { type: "string" },
      },
    });
    const fail = (message: string) => {
      process.stderr.write(`fenced inspect: ${message}\n`);
      return 2;
    };
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) return fail("--port must be an integer from 0 to 65535");
    if (values.db !== undefined && values.url !== undefined) return fail("give at most one of --db, --url");
    const token = values["token-file"] ? readFileSync(values["token-file"], "utf8").trim() : process.env.FENCED_TOKEN;
    if (values["token-file"] && token === "") return fail(`the token file ${values["token-file"]} is empty`);

    // Opening SQLite creates a missing file; a read-only page over a new empty store would only mislead.
    if (values.url === undefined && !existsSync(values.db ?? DEFAULT_PATH)) return fail(`no store at ${values.db ?? DEFAULT_PATH} (give --db FILE or --url)`);
    const storeOptions: OpenStoreOptions = values.url
      ? { url: values.url, ...(values.schema !== undefined && { schema: values.schema }) }
      : { path: values.db ?? DEFAULT_PATH };
    const store = await openStore(storeOptions);
    try {
      const inspector = createInspector(store, {
        host: values.host,
        port,
        ...(token !== undefined && token !== "" && { token }),
        ...(values["langgraph-prefix"] !== undefined && { langgraphPrefix: values["langgraph-prefix"] }),
      });
      const url = await inspector.listen();
      process.stdout.write(`fenced inspect: ${url} (${values.url ? "postgres" : `sqlite ${storeOptions.path}`})\n`);
      const signal = await new Promise<NodeJS.Signals>((resolve) => {
        process.once("SIGTERM", resolve);
        process.once("SIGINT", resolve);
      });
      process.stdout.write(`fenced inspect: ${signal}: stopping\n`);
      await inspector.close();
      return 0;
    } finally {
      await store.close();
    }
  },
};
