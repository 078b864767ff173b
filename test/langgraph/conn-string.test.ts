/**
 * `FencedCheckpointSaver.fromConnString` and `FencedStore.fromConnString`, mirroring LangGraph's own savers
 * (`SqliteSaver.fromConnString(path)`): synchronous, the store opens on first use, `close()` closes what they opened.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openStore } from "../../src/index.js";
import { FencedCheckpointSaver, FencedStore } from "../../src/langgraph/index.js";
import { dropTestSchemas, postgresUrl, testSchemaName } from "../support/backends.js";
import { counterGraph } from "./fixtures/counter.js";

const thread = (id: string) => ({ configurable: { thread_id: id } });
const dirs: string[] = [];
const schemas: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "fenced-conn-"));
  dirs.push(dir);
  return dir;
}

afterEach(async () => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  if (schemas.length > 0) await dropTestSchemas(postgresUrl(), schemas.splice(0));
});

describe("FencedCheckpointSaver.fromConnString", () => {
  it("is synchronous and opens the SQLite file on first use; close() closes it and is idempotent", async () => {
    const path = join(tempDir(), "nested", "state.db");
    const saver = FencedCheckpointSaver.fromConnString(path);
    expect(saver).toBeInstanceOf(FencedCheckpointSaver);
    expect(existsSync(path)).toBe(false);
    const graph = counterGraph(saver);
    expect(await graph.invoke({ log: ["one"] }, thread("t"))).toEqual({ count: 1, log: ["one"] });
    expect(existsSync(path)).toBe(true);
    await saver.close();
    await saver.close();
    const again = FencedCheckpointSaver.fromConnString(path);
    expect((await counterGraph(again).getState(thread("t"))).values).toEqual({ count: 1, log: ["one"] });
    await again.close();
  });

  it('takes ":memory:" for this process\'s memory', async () => {
    const saver = FencedCheckpointSaver.fromConnString(":memory:");
    expect(saver.store.backend.kind).toBe("memory");
    expect(await counterGraph(saver).invoke({ log: ["m"] }, thread("m"))).toEqual({ count: 1, log: ["m"] });
    await saver.close();
  });

  it("takes a postgres:// URL for PostgreSQL (and openStore options such as the schema)", async () => {
    const schema = testSchemaName();
    schemas.push(schema);
    const saver = FencedCheckpointSaver.fromConnString(postgresUrl(), { schema, keyPrefix: "lg" });
    expect(saver.store.backend.kind).toBe("postgres");
    expect(await counterGraph(saver).invoke({ log: ["pg"] }, thread("p"))).toEqual({ count: 1, log: ["pg"] });
    expect((await saver.store.read("lg/p/head/~")).exists).toBe(true);
    await saver.close();
  });

  it("a failed open fails that call with a typed error, and the next call tries again", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "blocker"), "a file where the directory should be");
    const saver = FencedCheckpointSaver.fromConnString(join(dir, "blocker", "state.db"));
    await expect(saver.getTuple(thread("t"))).rejects.toHaveProperty("code");
    rmSync(join(dir, "blocker"));
    mkdirSync(join(dir, "blocker"));
    expect(await saver.getTuple(thread("t"))).toBeUndefined();
    await saver.close();
  });

  it("bad input is INVALID_INPUT at once, not at first use", () => {
    expect(() => FencedCheckpointSaver.fromConnString("")).toThrow(expect.objectContaining({ code: "INVALID_INPUT" }));
    expect(() => FencedCheckpointSaver.fromConnString("./x.db", { schema: "s" })).toThrow(
      expect.objectContaining({ code: "INVALID_INPUT" }),
    );
  });

  it("close() before first use opens nothing; a store passed to the constructor stays the caller's", async () => {
    const path = join(tempDir(), "never.db");
    await FencedCheckpointSaver.fromConnString(path).close();
    expect(existsSync(path)).toBe(false);
    const store = await openStore({ memory: true });
    const saver = new FencedCheckpointSaver(store);
    await saver.close();
    await expect(store.read("k")).resolves.toMatchObject({ exists: false });
    const opened = await FencedCheckpointSaver.open({ path: join(tempDir(), "opened.db") });
    await opened.close();
    await opened.close();
  });
});

describe("FencedStore.fromConnString", () => {
  it("is synchronous, opens on first use, and close() closes what it opened", async () => {
    const path = join(tempDir(), "store.db");
    const store = FencedStore.fromConnString(path);
    expect(existsSync(path)).toBe(false);
    await store.put(["users", "u1"], "profile", { visits: 1 });
    expect(existsSync(path)).toBe(true);
    await store.close();
    await store.close();
    const again = FencedStore.fromConnString(path);
    expect((await again.get(["users", "u1"], "profile"))?.value).toEqual({ visits: 1 });
    await again.close();
  });
});
