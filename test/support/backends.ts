/**
 * The backends every shared suite runs against. One conformance suite, one list: a new backend joins by adding an
 * entry here, never by copying a test file.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StateStore, openStore, type OpenStoreOptions } from "../../src/index.js";

type StoreOptions = Omit<OpenStoreOptions, "path" | "memory" | "url" | "backend">;

export interface BackendFixture {
  name: string;
  /** Opens a fresh, empty store. Extra options (limits, clock) pass through. */
  open(options?: StoreOptions): Promise<StateStore>;
  /**
   * Opens a second instance on the same data as `store` (the same SQLite file, the same Postgres schema; on memory, a
   * second `StateStore` over the same backend): what two stores, savers or processes sharing state see.
   */
  openTwin(store: StateStore, options?: StoreOptions): Promise<StateStore>;
  /** Removes what `open` created. */
  cleanup(): Promise<void>;
}

function sqliteFixture(): BackendFixture {
  const dirs: string[] = [];
  const paths = new WeakMap<StateStore, string>();
  const openAt = async (path: string, options: StoreOptions) => {
    const store = await openStore({ ...options, path });
    paths.set(store, path);
    return store;
  };
  return {
    name: "sqlite",
    async open(options = {}) {
      const dir = mkdtempSync(join(tmpdir(), "fenced-test-"));
      dirs.push(dir);
      return openAt(join(dir, "state.db"), options);
    },
    openTwin: (store, options = {}) => openAt(paths.get(store)!, options),
    async cleanup() {
      for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    },
  };
}

function memoryFixture(): BackendFixture {
  return {
    name: "memory",
    open: (options = {}) => openStore({ ...options, memory: true }),
    openTwin: async (store, options = {}) => new StateStore(store.backend, options),
    cleanup: async () => {},
  };
}

/** The test server's URL; a missing one fails the postgres tests loudly instead of skipping them. */
export function postgresUrl(): string {
  const url = process.env.FENCED_PG_URL;
  if (!url) {
    throw new Error(
      "FENCED_PG_URL is not set: the postgres suites need a PostgreSQL server " +
        "(scripts/setup.sh starts one; e.g. FENCED_PG_URL=postgres://fenced:fenced@127.0.0.1:5432/fenced)",
    );
  }
  return url;
}

const STALE_SCHEMA_SECONDS = 3600;

/** A fresh schema name; its creation time in seconds lets a later run drop what a crashed run left behind. */
export function testSchemaName(): string {
  return `fenced_test_${Math.floor(Date.now() / 1000)}_${randomBytes(4).toString("hex")}`;
}

/** Runs `body` on one plain connection to `url` (the test database by default): admin queries in tests. */
export async function withPgClient<T>(
  body: (client: import("pg").Client) => Promise<T>,
  url = postgresUrl(),
): Promise<T> {
  const { default: pg } = await import("pg");
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await body(client);
  } finally {
    await client.end();
  }
}

/** Drops the given schemas, and test schemas and databases older than an hour (left by runs that died before cleanup). */
export async function dropTestSchemas(url: string, schemas: string[]): Promise<void> {
  await withPgClient(async (client) => {
    const { rows } = await client.query<{ nspname: string }>(
      "SELECT nspname FROM pg_namespace WHERE nspname ~ '^fenced_test_[0-9]+_' AND split_part(nspname, '_', 3)::bigint < $1",
      [Math.floor(Date.now() / 1000) - STALE_SCHEMA_SECONDS],
    );
    for (const name of new Set([...schemas, ...rows.map((r) => r.nspname)])) {
      await client.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
    }
    const stale = await client.query<{ datname: string }>(
      "SELECT datname FROM pg_database WHERE datname ~ '^fenced_test_db_[0-9]+_' AND split_part(datname, '_', 4)::bigint < $1",
      [Math.floor(Date.now() / 1000) - STALE_SCHEMA_SECONDS],
    );
    for (const { datname } of stale.rows) await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  }, url);
}

/** Each `open()` gets a store in a fresh, empty schema of the FENCED_PG_URL database. */
function postgresFixture(): BackendFixture {
  const schemas: string[] = [];
  const stores: StateStore[] = [];
  const schemaOf = new WeakMap<StateStore, string>();
  const openIn = async (schema: string, options: StoreOptions) => {
    const store = await openStore({ pool: { max: 5 }, ...options, url: postgresUrl(), schema });
    stores.push(store);
    schemaOf.set(store, schema);
    return store;
  };
  return {
    name: "postgres",
    async open(options = {}) {
      const schema = testSchemaName();
      schemas.push(schema);
      return openIn(schema, options);
    },
    openTwin: (store, options = {}) => openIn(schemaOf.get(store)!, options),
    async cleanup() {
      const opened = stores.splice(0);
      const created = schemas.splice(0);
      await Promise.all(opened.map((s) => s.close().catch(() => undefined)));
      if (created.length > 0) await dropTestSchemas(postgresUrl(), created);
    },
  };
}

const ALL_BACKENDS = ["memory", "sqlite", "postgres"] as const;
export type BackendName = (typeof ALL_BACKENDS)[number];

/**
 * The backends this run covers: all three by default; `FENCED_TEST_BACKENDS=memory` (a comma-separated list) narrows
 * it, e.g. for the mutation run (docs/mutation.md), which only needs the core's logic and not the storage engines. A
 * name that is not a backend fails loudly rather than silently testing nothing.
 */
export function selectedBackends(): BackendName[] {
  const raw = process.env.FENCED_TEST_BACKENDS?.trim();
  if (!raw) return [...ALL_BACKENDS];
  const names = raw.split(",").map((n) => n.trim());
  for (const n of names) {
    if (!(ALL_BACKENDS as readonly string[]).includes(n)) {
      throw new Error(`FENCED_TEST_BACKENDS: unknown backend "${n}" (expected some of ${ALL_BACKENDS.join(", ")})`);
    }
  }
  return ALL_BACKENDS.filter((n) => names.includes(n));
}

/** Fresh fixtures for every selected backend (all three unless FENCED_TEST_BACKENDS narrows them). */
export function backendFixtures(): BackendFixture[] {
  const make: Record<BackendName, () => BackendFixture> = {
    memory: memoryFixture,
    sqlite: sqliteFixture,
    postgres: postgresFixture,
  };
  return selectedBackends().map((name) => make[name]());
}

/**
 * For a test that needs one store of any backend: `preferred` when this run covers it, else the first covered one
 * (indexing `backendFixtures()` by position picks another backend, or none, once FENCED_TEST_BACKENDS narrows it).
 */
export function oneFixture<F extends BackendFixture>(fixtures: F[], preferred: BackendName = "sqlite"): F {
  return fixtures.find((f) => f.name === preferred) ?? fixtures[0]!;
}

/** A fresh temporary directory, removed by the returned function. */
export function tempDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), "fenced-test-"));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
