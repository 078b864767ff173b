/**
 * `fenced-state/postgres`: the PostgreSQL backend (docs/design.md §5) for state shared by several hosts. Needs the `pg` package.
 *
 * @example
 * ```ts
 * import { openStore } from "fenced-state";
 * const store = await openStore({ url: "postgres://fenced:fenced@127.0.0.1:5432/fenced" });
 * ```
 */
export { PostgresBackend } from "./backend.js";
export { DEFAULT_SCHEMA, type PostgresBackendOptions, type PostgresPoolOptions } from "./options.js";
export { POSTGRES_MIGRATIONS, migrate } from "./schema.js";
export { commitChannel } from "./notify.js";
