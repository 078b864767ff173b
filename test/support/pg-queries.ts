/**
 * Counting what node-postgres sends, for the postgres suites and the benchmark's postgres section (no vitest here: the
 * benchmark runs outside it).
 */
import pg from "pg";

/**
 * The query texts node-postgres sent while `body` ran, in order: one round trip each, since node-postgres does not
 * pipeline.
 */
export async function queriesSentBy(body: () => Promise<unknown>): Promise<string[]> {
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  const sent: string[] = [];
  proto.query = function (this: unknown, ...args: unknown[]) {
    const first = args[0] as string | { text: string };
    sent.push(typeof first === "string" ? first : first.text);
    return original.apply(this, args);
  };
  try {
    await body();
  } finally {
    proto.query = original;
  }
  return sent;
}
