/**
 * SQLite's event log: a new seq is one more than the largest seq in the log or the floor that deleting events raised
 * (LAST_SEQ in src/backends/sqlite/connection.ts), so no seq is ever handed out twice, not even when every event row
 * is gone; files made by earlier versions (no counter; AUTOINCREMENT's counter) are migrated and keep their seqs.
 */
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { SQLITE_MIGRATIONS } from "../../src/backends/sqlite/backend.js";
import { StateStore, op, openStore } from "../../src/index.js";
import { SqliteBackend } from "../../src/backend.js";
import { tempDir } from "../support/backends.js";

const tmp = tempDir();
afterAll(() => tmp.remove());

describe("SQLite event seqs", () => {
  it("never reuses a seq, even after every event row was deleted", async () => {
    const backend = new SqliteBackend({ path: join(tmp.dir, "emptied.db") });
    const store = new StateStore(backend);
    const first = await store.commit({ key: "e/a", op: op.set(1) });
    const second = await store.commit({ key: "e/a", op: op.set(2) });
    backend.db.exec("DELETE FROM events");
    const third = await store.commit({ key: "e/a", op: op.set(3) });
    expect([first.seq, second.seq, third.seq]).toEqual([1, 2, 3]);
    expect(await store.backend.lastSeq()).toBe(3);
    await store.close();
  });

  it("never reuses a seq after the newest rows were deleted, nor after a purge, across reopen", async () => {
    const path = join(tmp.dir, "tail.db");
    const backend = new SqliteBackend({ path });
    const store = new StateStore(backend);
    for (let v = 1; v <= 5; v++) await store.commit({ key: "t/a", op: op.set(v) });
    backend.db.exec("DELETE FROM events WHERE seq >= 4");
    expect(await store.backend.lastSeq()).toBe(5);
    expect((await store.commit({ key: "t/a", op: op.set(6) })).seq).toBe(6);
    await store.close();
    const reopened = await openStore({ path, retention: { maxEvents: 1 } });
    await reopened.purge();
    expect((await reopened.events("t/")).map((e) => e.seq)).toEqual([6]);
    expect((await reopened.commit({ key: "t/a", op: op.set(7) })).seq).toBe(7);
    await reopened.close();
  });

  it("migrates a file whose seqs came from AUTOINCREMENT's counter, continuing after the counter", async () => {
    const path = join(tmp.dir, "counted.db");
    const old = new Database(path);
    old.pragma("journal_mode = WAL");
    const before = SQLITE_MIGRATIONS.length - 1; // every migration up to the event floor
    for (const migration of SQLITE_MIGRATIONS.slice(0, before)) old.exec(migration);
    old.pragma(`user_version = ${before}`);
    const insert = old.prepare(
      "INSERT INTO events (ts, key, version, epoch, outcome) VALUES (1, 'c/a', ?, 0, 'committed')",
    );
    for (let v = 1; v <= 5; v++) insert.run(v);
    old.exec("DELETE FROM events WHERE seq >= 4"); // the counter stays at 5
    old.exec("INSERT INTO records (key, value, version, epoch, updated_at) VALUES ('c/a', '5', 5, 0, 1)");
    old.close();

    const store = await openStore({ path });
    expect((await store.events("c/")).map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(await store.backend.lastSeq()).toBe(5);
    expect((await store.commit({ key: "c/a", op: op.increment(1) })).seq).toBe(6);
    await store.close();
  });

  it("migrates a file made before seqs had a counter, keeping its events and continuing after them", async () => {
    const path = join(tmp.dir, "old.db");
    const old = new Database(path);
    old.pragma("journal_mode = WAL");
    for (const migration of SQLITE_MIGRATIONS.slice(0, 2)) old.exec(migration);
    old.pragma("user_version = 2");
    const insert = old.prepare(
      "INSERT INTO events (ts, key, version, epoch, outcome) VALUES (1, 'm/a', ?, 0, 'committed')",
    );
    for (let v = 1; v <= 3; v++) insert.run(v);
    old.exec("INSERT INTO records (key, value, version, epoch, updated_at) VALUES ('m/a', '3', 3, 0, 1)");
    old.close();

    const store = await openStore({ path });
    expect((await store.events("m/")).map((e) => [e.seq, e.version])).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
    expect((await store.commit({ key: "m/a", op: op.increment(1) })).seq).toBe(4);
    await store.close();
  });
});
