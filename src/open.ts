/** `openStore()`: one call to a ready store on the default backend or the one named. */
import { resolve } from "node:path";
import type { Backend } from "./core/backend.js";
import { InvalidInputError } from "./core/errors.js";
import { StateStore, resolveRetention, type StateStoreOptions } from "./core/store.js";
import { MemoryBackend } from "./backends/memory/backend.js";
import { LazyBackend } from "./backends/lazy.js";
import { SqliteBackend } from "./backends/sqlite/backend.js";
import type { PostgresPoolOptions } from "./backends/postgres/options.js";

/** The embedded default database file. */
export const DEFAULT_PATH = ".fenced/state.db";

export interface OpenStoreOptions extends StateStoreOptions {
  /** SQLite file (default `./.fenced/state.db`). */
  path?: string;
  /** Keep everything in this process's memory. */
  memory?: boolean;
  /** `postgres://…`: the PostgreSQL backend (needs the `pg` package). */
  url?: string;
  /** Postgres: the schema holding the tables (default `fenced_state`); stores sharing state name the same one. */
  schema?: string;
  /** Postgres: connection-pool size and timeouts. */
  pool?: PostgresPoolOptions;
  /** A backend object of your own. */
  backend?: Backend;
  /** SQLite: `"normal"` (WAL, synchronous=NORMAL, the default) or `"full"` (fsync every commit). */
  durability?: "normal" | "full";
  /** SQLite: how long to wait for another process's write lock before `UNAVAILABLE`. Default 5,000 ms. */
  busyTimeoutMs?: number;
  /**
   * SQLite: when a group commit starts: `"immediate"` (default) or `"per-turn"`, for servers, whose requests arrive
   * in separate callbacks of one event-loop turn and then share one COMMIT. See docs/sqlite.md, "Group commit".
   */
  groupCommit?: "immediate" | "per-turn";
}

/**
 * Opens a store: SQLite at `./.fenced/state.db` with no arguments, or `{ path }`, `{ memory: true }`, `{ url }`.
 * Stores opened on one SQLite file in one process share its writer, so any number of them (savers, `FencedStore`s)
 * work side by side. A path that can never hold a store (a directory, a file of another program) is `INVALID_INPUT`.
 *
 * @example
 * ```ts
 * import { openStore, op } from "fenced-state";
 * const store = await openStore();
 * await store.commit({ key: "team/count", op: op.increment(1) });
 * ```
 */
export async function openStore(options: OpenStoreOptions = {}): Promise<StateStore> {
  checkOptions(options);
  return new StateStore(await openBackend(options), options);
}

/**
 * A store whose backend opens on its first call (synchronous, as LangGraph's `fromConnString` savers are). Bad
 * options fail here; a failure to open (a file that cannot be created, a database that is down) fails the first call,
 * and the call after it tries again.
 */
export function openStoreLazily(options: OpenStoreOptions = {}): StateStore {
  checkOptions(options);
  if (options.backend) return new StateStore(options.backend, options);
  const kind = options.memory ? "memory" : options.url !== undefined ? "postgres" : "sqlite";
  return new StateStore(new LazyBackend(kind, () => openBackend(options)), options);
}

/** The `openStore` options that go with a connection string (the string names the backend). */
export type ConnStringStoreOptions = Omit<OpenStoreOptions, "path" | "memory" | "url" | "backend">;

/**
 * The `openStore` options a connection string names, as LangGraph's savers take them: `postgres://…` or
 * `postgresql://…` is PostgreSQL, `":memory:"` this process's memory, anything else a SQLite file path.
 */
export function connStringOptions(pathOrUrl: string): Pick<OpenStoreOptions, "path" | "memory" | "url"> {
  if (typeof pathOrUrl !== "string" || pathOrUrl === "") {
    throw new InvalidInputError({
      issues: [{ path: ["pathOrUrl"], message: 'must be a file path, ":memory:" or a postgres:// URL' }],
    });
  }
  if (/^postgres(ql)?:\/\//.test(pathOrUrl)) return { url: pathOrUrl };
  if (pathOrUrl === ":memory:") return { memory: true };
  return { path: pathOrUrl };
}

function checkOptions(options: OpenStoreOptions): void {
  const chosen = [options.path, options.memory, options.url, options.backend].filter(
    (o) => o !== undefined && o !== false,
  );
  if (chosen.length > 1) {
    throw new InvalidInputError({ issues: [{ path: [], message: "give at most one of path, memory, url, backend" }] });
  }
  if (options.url === undefined && (options.schema !== undefined || options.pool !== undefined)) {
    throw new InvalidInputError({
      issues: [
        {
          path: [options.schema !== undefined ? "schema" : "pool"],
          message: "schema and pool apply to postgres: give url too",
        },
      ],
    });
  }
  // Checked before a backend opens, so a bad option leaves no connection behind.
  resolveRetention(options.retention);
}

async function openBackend(options: OpenStoreOptions): Promise<Backend> {
  if (options.backend) return options.backend;
  if (options.memory) return new MemoryBackend();
  if (options.url !== undefined) {
    if (!/^postgres(ql)?:\/\//.test(options.url)) {
      throw new InvalidInputError({
        issues: [{ path: ["url"], message: "url must start with postgres:// or postgresql://" }],
      });
    }
    // Loaded only here, so `pg` stays an optional peer dependency for everyone on SQLite.
    const { PostgresBackend } = await import("./backends/postgres/index.js").catch((err: unknown) => {
      if ((err as { code?: string }).code !== "ERR_MODULE_NOT_FOUND") throw err;
      throw new InvalidInputError({
        issues: [{ path: ["url"], message: "the postgres backend needs the pg package: npm install pg" }],
      });
    });
    return PostgresBackend.open({
      url: options.url,
      ...(options.schema !== undefined && { schema: options.schema }),
      ...(options.pool && { pool: options.pool }),
    });
  }
  return new SqliteBackend({
    path: resolve(options.path ?? DEFAULT_PATH),
    ...(options.durability && { durability: options.durability }),
    ...(options.busyTimeoutMs !== undefined && { busyTimeoutMs: options.busyTimeoutMs }),
    ...(options.groupCommit && { groupCommit: options.groupCommit }),
  });
}
