/**
 * What every `fenced` subcommand shares: the command shape, the store choice (`--db` | `--memory` | `--url`
 * [`--schema`]), port and token options, usage errors and the stop signal. Each subcommand lives in its own file and
 * is listed once in `main.ts`.
 */
import { existsSync, readFileSync } from "node:fs";
import { DEFAULT_PATH, type OpenStoreOptions } from "../open.js";

/** A `fenced` subcommand. */
export interface Command {
  /** One line for `fenced --help`. */
  summary: string;
  /** The full text of `fenced <name> --help`. */
  usage: string;
  /** Runs the command; resolves to the process exit code. */
  run(argv: string[]): Promise<number>;
}

/** A bad command line: printed as `fenced <name>: <message>` with exit code 2. */
export class UsageError extends Error {}

/** `parseArgs` options choosing the store; `memory` only for commands that may run on a throwaway store. */
export const STORE_ARGS = {
  db: { type: "string" },
  url: { type: "string" },
  schema: { type: "string" },
} as const;
export const MEMORY_ARG = { memory: { type: "boolean", default: false } } as const;

/** Help lines for `STORE_ARGS` (and `MEMORY_ARG`), aligned like the rest of each usage text. */
export function storeUsage(options: { memory?: boolean } = {}): string {
  return [
    `  --db FILE          SQLite file (default ${DEFAULT_PATH})`,
    ...(options.memory ? ["  --memory           keep everything in this process's memory"] : []),
    "  --url URL          PostgreSQL (postgres://…)",
    "  --schema NAME      PostgreSQL schema (default fenced_state)",
  ].join("\n");
}

/**
 * The store a command line names, and how to print it (`sqlite <path>`, `postgres`, `memory`). At most one of
 * `--db`, `--memory`, `--url`; `--schema` needs `--url`. `mustExist` refuses a SQLite file that is not there (opening
 * would create an empty store, which a read-only command would only mislead with).
 */
export function storeChoice(
  values: {
    db?: string | undefined;
    memory?: boolean | undefined;
    url?: string | undefined;
    schema?: string | undefined;
  },
  options: { mustExist?: boolean } = {},
): { open: OpenStoreOptions; where: string } {
  const given = [values.db !== undefined, values.memory === true, values.url !== undefined].filter(Boolean).length;
  if (given > 1)
    throw new UsageError(`give at most one of --db, ${values.memory !== undefined ? "--memory, " : ""}--url`);
  if (values.schema !== undefined && values.url === undefined)
    throw new UsageError("--schema applies to postgres: give --url too");
  if (values.memory) return { open: { memory: true }, where: "memory" };
  if (values.url !== undefined) {
    return {
      open: { url: values.url, ...(values.schema !== undefined && { schema: values.schema }) },
      where: "postgres",
    };
  }
  const path = values.db ?? DEFAULT_PATH;
  if (options.mustExist && !existsSync(path)) throw new UsageError(`no store at ${path} (give --db FILE or --url)`);
  return { open: { path }, where: `sqlite ${path}` };
}

/** A TCP port from `--port`: 0 (any free port) to 65535. */
export function portOf(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError("--port must be an integer from 0 to 65535");
  return port;
}

/**
 * The bearer token: the first line of `--token-file`, else `FENCED_TOKEN`, else none. An empty token file is an error:
 * asking for a token and getting none must not quietly mean "no auth".
 */
export function tokenOf(tokenFile: string | undefined): string | undefined {
  const token = tokenFile !== undefined ? readFileSync(tokenFile, "utf8").trim() : process.env.FENCED_TOKEN;
  if (tokenFile !== undefined && token === "") throw new UsageError(`the token file ${tokenFile} is empty`);
  return token === "" ? undefined : token;
}

/** Resolves with the first SIGTERM or SIGINT. */
export function stopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    process.once("SIGTERM", resolve);
    process.once("SIGINT", resolve);
  });
}

/** Runs a command body, turning a `UsageError` into `fenced <name>: <message>` on stderr and exit code 2. */
export async function withUsage(name: string, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`fenced ${name}: ${err.message}\n`);
    return 2;
  }
}
