/**
 * Counting what node-postgres sends, for the postgres suites and the benchmark's postgres section (no vitest here: the
 * benchmark runs outside it).
 */
import pg from "pg";
import { PREPARED_PREFIX } from "../../src/backends/postgres/sql.js";

/**
 * The query texts node-postgres sent while `body` ran, in order: one round trip each, since node-postgres does not
 * pipeline. `{ prepares: false }` leaves out the one query a connection sends before its first transaction, which
 * prepares the transaction statements (`PREPARE`): what a call costs once its connection is warm.
 */
export async function queriesSentBy(
  body: () => Promise<unknown>,
  options: { prepares?: boolean } = {},
): Promise<string[]> {
  const sent = (await statementsSentBy(body)).map((s) => s.text);
  return options.prepares === false ? sent.filter((text) => !isPrepare(text)) : sent;
}

/** Whether a query is a connection's one-time preparation of the transaction statements. */
export function isPrepare(text: string): boolean {
  return text.startsWith(`PREPARE ${PREPARED_PREFIX}`);
}

/** The statements (text and parameter values) node-postgres sent while `body` ran, in order. */
export async function statementsSentBy(
  body: () => Promise<unknown>,
): Promise<{ text: string; values: unknown[] | undefined }[]> {
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  const sent: { text: string; values: unknown[] | undefined }[] = [];
  proto.query = function (this: unknown, ...args: unknown[]) {
    const first = args[0] as string | { text: string; values?: unknown[] };
    if (typeof first === "string") sent.push({ text: first, values: args[1] as unknown[] | undefined });
    else sent.push({ text: first.text, values: first.values });
    return original.apply(this, args);
  };
  try {
    await body();
  } finally {
    proto.query = original;
  }
  return sent;
}
