/**
 * Opening a SQLite store at a path that can never work is a typed, non-retryable `INVALID_INPUT` that says what is
 * wrong and what to do; `UNAVAILABLE` ("transient, retry") is kept for what may pass (a lock, a full disk).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SqliteSaver } from "@langchain/langgraph-checkpoint-sqlite";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { FencedStateError, openStore } from "../../src/index.js";
import { SQLITE_MIGRATIONS } from "../../src/backends/sqlite/backend.js";
import { tempDir } from "../support/backends.js";

const tmp = tempDir();
afterAll(() => tmp.remove());

async function openError(path: string): Promise<FencedStateError> {
  const err = await openStore({ path }).then(
    async (s) => (await s.close(), undefined),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FencedStateError);
  return err as FencedStateError;
}

describe("opening a SQLite store where none can be", () => {
  it("a path that is a directory: INVALID_INPUT, not retryable, naming the path", async () => {
    const dir = join(tmp.dir, "a-directory");
    mkdirSync(dir);
    const err = await openError(dir);
    expect({ code: err.code, retryable: err.retryable }).toEqual({ code: "INVALID_INPUT", retryable: false });
    expect(err.message).toMatch(/is a directory/);
    expect(err.message).toContain(dir);
  });

  it("a path under a regular file: INVALID_INPUT, not a raw EEXIST", async () => {
    const file = join(tmp.dir, "plain-file");
    writeFileSync(file, "x");
    const err = await openError(join(file, "sub", "state.db"));
    expect({ code: err.code, retryable: err.retryable }).toEqual({ code: "INVALID_INPUT", retryable: false });
    expect(err.message).toMatch(/not a directory/);
  });

  it("a file that is not a SQLite database: INVALID_INPUT", async () => {
    const path = join(tmp.dir, "garbage.db");
    writeFileSync(path, Buffer.alloc(8192, 0x5a));
    const err = await openError(path);
    expect({ code: err.code, retryable: err.retryable }).toEqual({ code: "INVALID_INPUT", retryable: false });
    expect(err.message).toMatch(/not a SQLite database/);
  });

  it("a file written by LangGraph's own SqliteSaver: INVALID_INPUT saying it is not a fenced-state store, file untouched", async () => {
    const path = join(tmp.dir, "official.db");
    const official = SqliteSaver.fromConnString(path);
    await official.getTuple({ configurable: { thread_id: "t" } }); // creates its tables
    const err = await openError(path);
    expect({ code: err.code, retryable: err.retryable }).toEqual({ code: "INVALID_INPUT", retryable: false });
    expect(err.message).toMatch(/not a fenced-state store/);
    expect(err.message).toMatch(/checkpoints/);
    const db = new Database(path, { readonly: true });
    expect(db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'records'").get()).toEqual({ n: 0 });
    db.close();
  });

  it("a store made by a newer fenced-state (more migrations than this one knows): INVALID_INPUT", async () => {
    const path = join(tmp.dir, "newer.db");
    await (await openStore({ path })).close();
    const db = new Database(path);
    db.pragma(`user_version = ${SQLITE_MIGRATIONS.length + 1}`);
    db.close();
    const err = await openError(path);
    expect({ code: err.code, retryable: err.retryable }).toEqual({ code: "INVALID_INPUT", retryable: false });
    expect(err.message).toMatch(/newer/);
  });
});
