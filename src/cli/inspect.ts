/**
 * `fenced inspect`: a read-only web page over a store — who wrote what, who lost (conflicts), who was fenced, which
 * run holds each LangGraph thread and where threads forked. Loopback only unless a token protects it, like
 * `fenced serve`. Prints one line with the page's URL once it listens; SIGTERM/SIGINT stop it.
 */
import { parseArgs } from "node:util";
import { openStore } from "../open.js";
import { createInspector, DEFAULT_INSPECT_PORT } from "../inspect/server.js";
import {
  STORE_ARGS,
  portOf,
  stopSignal,
  storeChoice,
  storeUsage,
  tokenOf,
  withUsage,
  type Command,
} from "./command.js";

const USAGE = `Usage: fenced inspect [--db FILE | --url postgres://…] [--host ADDR] [--port N]

Serves a read-only page over the store: keys with their claims, the event log live (committed, conflict, fenced,
replayed), and LangGraph threads as lineage trees with the state at each checkpoint.

Options:
${storeUsage()}
  --host ADDR            address to bind (default 127.0.0.1). Anything but loopback needs a token.
  --port N               port to bind; 0 picks a free one (default ${DEFAULT_INSPECT_PORT})
  --token-file FILE      file holding the bearer token (or set FENCED_TOKEN); the page asks for it
  --langgraph-prefix P   the LangGraph saver's key prefix (default langgraph)

Prints "fenced inspect: <url> (<backend>)" once ready.
`;

export const inspect: Command = {
  summary: "open a read-only web page: keys, claims, the live event log, LangGraph thread lineages",
  usage: USAGE,
  run: (argv) =>
    withUsage("inspect", async () => {
      const { values } = parseArgs({
        args: argv,
        options: {
          ...STORE_ARGS,
          host: { type: "string", default: "127.0.0.1" },
          port: { type: "string", default: String(DEFAULT_INSPECT_PORT) },
          "token-file": { type: "string" },
          "langgraph-prefix": { type: "string" },
        },
      });
      const port = portOf(values.port);
      const token = tokenOf(values["token-file"]);
      // Opening SQLite creates a missing file; a read-only page over a new empty store would only mislead.
      const { open, where } = storeChoice(values, { mustExist: true });
      const store = await openStore(open);
      try {
        const inspector = createInspector(store, {
          host: values.host,
          port,
          ...(token !== undefined && { token }),
          ...(values["langgraph-prefix"] !== undefined && { langgraphPrefix: values["langgraph-prefix"] }),
        });
        const url = await inspector.listen();
        process.stdout.write(`fenced inspect: ${url} (${where})\n`);
        const signal = await stopSignal();
        process.stdout.write(`fenced inspect: ${signal}: stopping\n`);
        await inspector.close();
        return 0;
      } finally {
        await store.close();
      }
    }),
};
