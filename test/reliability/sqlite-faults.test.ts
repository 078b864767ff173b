/**
 * Resource faults on the SQLite backend: each surfaces as a typed error (`UNAVAILABLE`, or a clear `INVALID_INPUT` for
 * a file that can never be a store: test/backends/sqlite-open.test.ts), writes nothing partial, and the store
 * recovers once the fault clears (G4, G6). A retry with the same opId after an `UNAVAILABLE` applies exactly once (G3).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { InvalidInputError, StateStore, UnavailableError, op, openStore } from "../../src/index.js";
import { SqliteBackend } from "../../src/backend.js";
import { tempDir } from "../support/backends.js";

const tmp = tempDir();
afterAll(() => tmp.remove());

function sqliteStore(name: string, options: { busyTimeoutMs?: number } = {}) {
  const backend = new SqliteBackend({ path: join(tmp.dir, name), ...options });
  return { backend, store: new StateStore(backend) };
}

describe("SQLite resource faults", () => {
  it("answers a full disk with UNAVAILABLE, keeps the old value whole, and recovers when space returns", async () => {
    const { backend, store } = sqliteStore("full.db");
    await store.commit({ key: "f/a", op: op.set("small") });
    const pages = backend.db.pragma("page_count", { simple: true }) as number;
    backend.db.pragma(`max_page_count = ${pages + 2}`);
    const big = "x".repeat(64 * 1024);
    const err = await store
      .txn(
        [
          { key: "f/a", op: op.set(big) },
          { key: "f/b", op: op.set(big) },
        ],
        { opId: "big-1" },
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as UnavailableError).details.cause).toMatch(/^disk full/);
    expect(await store.read("f/a")).toMatchObject({ value: "small", version: 1 });
    expect(await store.read("f/b")).toMatchObject({ exists: false, version: 0 });

    backend.db.pragma("max_page_count = 1073741823");
    const retried = await store.txn(
      [
        { key: "f/a", op: op.set(big) },
        { key: "f/b", op: op.set(big) },
      ],
      { opId: "big-1" },
    );
    expect(retried.replayed).toBe(false);
    expect(await store.read("f/a")).toMatchObject({ version: 2 });
    expect(
      (
        await store.txn(
          [
            { key: "f/a", op: op.set(big) },
            { key: "f/b", op: op.set(big) },
          ],
          { opId: "big-1" },
        )
      ).replayed,
    ).toBe(true);
    expect(backend.db.pragma("integrity_check", { simple: true })).toBe("ok");
    await store.close();
  });

  it("answers a read-only database with UNAVAILABLE and writes nothing", async () => {
    const { backend, store } = sqliteStore("ro.db");
    await store.commit({ key: "ro/a", op: op.set(1) });
    backend.db.pragma("query_only = 1");
    const err = await store.commit({ key: "ro/a", op: op.set(2) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as UnavailableError).details.cause).toMatch(/^read-only database/);
    expect(await store.read("ro/a")).toMatchObject({ value: 1, version: 1 });
    backend.db.pragma("query_only = 0");
    expect((await store.commit({ key: "ro/a", op: op.set(2) })).version).toBe(2);
    await store.close();
  });

  it("refuses to open a file that is not a database with a clear, non-retryable INVALID_INPUT", async () => {
    const path = join(tmp.dir, "corrupt.db");
    writeFileSync(path, Buffer.alloc(8192, 0x5a));
    const err = await openStore({ path }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).retryable).toBe(false);
    expect((err as InvalidInputError).message).toMatch(/not a SQLite database/);
  });

  it("answers a lock held beyond busy_timeout with UNAVAILABLE, and commits once the lock is gone", async () => {
    const { store } = sqliteStore("locked.db", { busyTimeoutMs: 50 });
    await store.commit({ key: "l/a", op: op.set(1) });
    const other = new Database(join(tmp.dir, "locked.db"));
    other.exec("BEGIN IMMEDIATE");
    const err = await store.commit({ key: "l/a", op: op.increment(1), opId: "inc-1" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as UnavailableError).details.cause).toMatch(/^busy/);
    expect((err as UnavailableError).retryable).toBe(true);
    other.exec("ROLLBACK");
    other.close();
    expect((await store.commit({ key: "l/a", op: op.increment(1), opId: "inc-1" })).replayed).toBe(false);
    expect((await store.commit({ key: "l/a", op: op.increment(1), opId: "inc-1" })).replayed).toBe(true);
    expect(await store.read("l/a")).toMatchObject({ value: 2, version: 2 });
    await store.close();
  });
});
