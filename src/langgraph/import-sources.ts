/**
 * Opens the official savers' databases for `importCheckpoints`, after checking that they are what they claim to be:
 * opening a wrong file or schema with the official saver would create its tables there (and import nothing).
 * Loaded only when a `from` string names one, so neither official package is needed otherwise.
 */
import { existsSync } from "node:fs";
import type { BaseCheckpointSaver } from "@langchain/langgraph-checkpoint";
import { InvalidInputError, UnavailableError } from "../core/errors.js";

/** The columns each official SqliteSaver table has (@langchain/langgraph-checkpoint-sqlite 1.x). */
const SQLITE_TABLES: Record<string, string[]> = {
  checkpoints: [
    "thread_id",
    "checkpoint_ns",
    "checkpoint_id",
    "parent_checkpoint_id",
    "type",
    "checkpoint",
    "metadata",
  ],
  writes: ["thread_id", "checkpoint_ns", "checkpoint_id", "task_id", "idx", "channel", "type", "value"],
};
/** The tables of an official PostgresSaver schema (@langchain/langgraph-checkpoint-postgres 1.x). */
const POSTGRES_TABLES = ["checkpoints", "checkpoint_blobs", "checkpoint_writes", "checkpoint_migrations"];

interface OpenedSource {
  saver: BaseCheckpointSaver;
  close(): Promise<void>;
}

/** An official SqliteSaver file, read-only. */
export async function openSqliteSaver(path: string): Promise<OpenedSource> {
  const expected =
    "an official SqliteSaver database (tables checkpoints and writes, as @langchain/langgraph-checkpoint-sqlite creates them)";
  if (path === "" || !existsSync(path))
    throw notASource(`sqlite:${path}`, `no file at "${path}"; expected ${expected}`);
  const { default: Database } = await import("better-sqlite3");
  let db: import("better-sqlite3").Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    for (const [table, columns] of Object.entries(SQLITE_TABLES)) {
      const have = new Set((db.pragma(`table_info(${table})`) as { name: string }[]).map((c) => c.name));
      const missing = columns.filter((c) => !have.has(c));
      if (missing.length > 0)
        throw notASource(`sqlite:${path}`, `table ${table} lacks ${missing.join(", ")}; expected ${expected}`);
    }
  } catch (err) {
    if (err instanceof InvalidInputError) throw err;
    throw notASource(`sqlite:${path}`, `${err instanceof Error ? err.message : String(err)}; expected ${expected}`);
  }
  const { SqliteSaver } = await officialPackage(
    () => import("@langchain/langgraph-checkpoint-sqlite"),
    "@langchain/langgraph-checkpoint-sqlite",
  );
  return { saver: new SqliteSaver(db), close: async () => void db.close() };
}

/** An official PostgresSaver schema. Its tables are checked first: PostgresSaver's `setup()` is never called. */
export async function openPostgresSaver(url: string, schema: string): Promise<OpenedSource> {
  const { default: pg } = await import("pg");
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    const { rows } = await client.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_name = ANY($2)",
      [schema, POSTGRES_TABLES],
    );
    const missing = POSTGRES_TABLES.filter((t) => !rows.some((r) => r.table_name === t));
    if (missing.length > 0) {
      throw notASource(
        "postgres",
        `schema "${schema}" lacks ${missing.join(", ")}; expected an official PostgresSaver schema (as ` +
          "@langchain/langgraph-checkpoint-postgres's setup() creates it; another schema: fromSchema / --from-schema)",
      );
    }
  } catch (err) {
    if (err instanceof InvalidInputError) throw err;
    throw new UnavailableError(
      { cause: `postgres source: ${err instanceof Error ? err.message : String(err)}` },
      { cause: err },
    );
  } finally {
    await client.end().catch(() => undefined);
  }
  const { PostgresSaver } = await officialPackage(
    () => import("@langchain/langgraph-checkpoint-postgres"),
    "@langchain/langgraph-checkpoint-postgres",
  );
  const saver = PostgresSaver.fromConnString(url, { schema });
  return { saver, close: () => saver.end() };
}

function notASource(from: string, message: string): InvalidInputError {
  return new InvalidInputError({ issues: [{ path: ["from"], message: `${from}: ${message}` }] });
}

async function officialPackage<T>(load: () => Promise<T>, name: string): Promise<T> {
  try {
    return await load();
  } catch (err) {
    throw new Error(`importing from the official saver needs ${name}: npm install ${name}`, { cause: err });
  }
}
