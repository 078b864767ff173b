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

  // A database written before the counter existed: every migration before it applied, none after, and a per-key epoch
  // ahead of everything (as the old code counted). Opening it runs the counter's migration and every later one.
  it("on SQLite starts above the greatest epoch of the claims already stored", async () => {
    const path = join(tmp.dir, "old.db");
    const counter = SQLITE_MIGRATIONS.findIndex((m) => m.includes("CREATE TABLE epoch_counter"));
    expect(counter).toBeGreaterThan(0);
    const db = new Database(path);
    for (const migration of SQLITE_MIGRATIONS.slice(0, counter)) db.exec(migration);
    db.pragma(`user_version = ${counter}`);
    db.prepare("INSERT INTO claims (key, owner, epoch, expires_at) VALUES ('old/a', 'w', 7, 0)").run();
    db.close();
    const upgraded = await openStore({ path });
    expect((await upgraded.claim({ key: "old/b", owner: "w", ttlMs: 60_000 })).epoch).toBe(8);
    expect((await upgraded.claim({ key: "old/a", owner: "x", ttlMs: 60_000, steal: true })).epoch).toBe(9);
    await upgraded.close();
  });

  it("on Postgres starts above the greatest epoch of the claims already stored", async () => {
    const schema = testSchemaName();
    schemas.push(schema);
    const counter = POSTGRES_MIGRATIONS.findIndex((m) => m.includes("CREATE SEQUENCE $S.epoch_seq"));
    expect(counter).toBeGreaterThan(0);
    await withPgClient(async (c) => {
      await c.query(`CREATE SCHEMA "${schema}"`);
      await c.query(
        `CREATE TABLE "${schema}".schema_migrations (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      for (const [i, migration] of POSTGRES_MIGRATIONS.slice(0, counter).entries()) {
        await c.query(migration.replaceAll("$S", `"${schema}"`));
        await c.query(`INSERT INTO "${schema}".schema_migrations (version) VALUES ($1)`, [i + 1]);
      }
      await c.query(`INSERT INTO "${schema}".claims (key, owner, epoch, expires_at) VALUES ('old/a', 'w', 7, 0)`);
    });
    const upgraded = await openStore({ url: postgresUrl(), schema });
    expect((await upgraded.claim({ key: "old/b", owner: "w", ttlMs: 60_000 })).epoch).toBe(8);
    expect((await upgraded.claim({ key: "old/a", owner: "x", ttlMs: 60_000, steal: true })).epoch).toBe(9);
    await upgraded.close();
  });
});
