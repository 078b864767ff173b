/**
 * The store-wide epoch counter on a database created before it existed (G2, tokens bound to their claim): the
 * migration that adds it starts it above every epoch already handed out, so an upgraded store never grants an
 * epoch some live claim already has.
 */
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { openStore } from "../../src/index.js";
import { POSTGRES_MIGRATIONS } from "../../src/backends/postgres/index.js";
import { SQLITE_MIGRATIONS } from "../../src/backends/sqlite/backend.js";
import { dropTestSchemas, postgresUrl, tempDir, testSchemaName, withPgClient } from "../support/backends.js";

describe("the epoch counter's migration", () => {
  const tmp = tempDir();
  const schemas: string[] = [];
  afterAll(async () => {
    tmp.remove();
    await dropTestSchemas(postgresUrl(), schemas);
  });

  it("on SQLite starts above the greatest epoch of the claims already stored", async () => {
    const path = join(tmp.dir, "old.db");
    const store = await openStore({ path });
    for (let i = 0; i < 3; i++) await store.claim({ key: "old/a", owner: "w", ttlMs: 60_000, steal: true });
    await store.close();
    // Back to the schema before the counter, with a per-key epoch ahead of everything (as the old code counted).
    const db = new Database(path);
    db.exec("DROP TABLE epoch_counter; UPDATE claims SET epoch = 7");
    db.pragma(`user_version = ${SQLITE_MIGRATIONS.length - 1}`);
    db.close();
    const upgraded = await openStore({ path });
    expect((await upgraded.claim({ key: "old/b", owner: "w", ttlMs: 60_000 })).epoch).toBe(8);
    expect((await upgraded.claim({ key: "old/a", owner: "x", ttlMs: 60_000, steal: true })).epoch).toBe(9);
    await upgraded.close();
  });

  it("on Postgres starts above the greatest epoch of the claims already stored", async () => {
    const schema = testSchemaName();
    schemas.push(schema);
    const url = postgresUrl();
    const store = await openStore({ url, schema });
    await store.claim({ key: "old/a", owner: "w", ttlMs: 60_000 });
    await store.close();
    await withPgClient(async (c) => {
      await c.query(`DROP SEQUENCE "${schema}".epoch_seq; UPDATE "${schema}".claims SET epoch = 7`);
      await c.query(`DELETE FROM "${schema}".schema_migrations WHERE version = $1`, [POSTGRES_MIGRATIONS.length]);
    });
    const upgraded = await openStore({ url, schema });
    expect((await upgraded.claim({ key: "old/b", owner: "w", ttlMs: 60_000 })).epoch).toBe(8);
    expect((await upgraded.claim({ key: "old/a", owner: "x", ttlMs: 60_000, steal: true })).epoch).toBe(9);
    await upgraded.close();
  });
});
