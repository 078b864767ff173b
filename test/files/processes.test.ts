/** Fenced files across real processes: two writers on one plan file and one store lose no line (G1), on SQLite and PostgreSQL. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openStore, type OpenStoreOptions } from "../../src/index.js";
import { FencedFiles } from "../../src/files/index.js";
import { dropTestSchemas, postgresUrl, tempDir, testSchemaName } from "../support/backends.js";
import { spawnWorker } from "../support/processes.js";

const tmp = tempDir();
const schemas: string[] = [];
afterAll(async () => {
  tmp.remove();
  if (schemas.length > 0) await dropTestSchemas(postgresUrl(), schemas);
});

/** Each backend the processes share: the options for this process, and the same as arguments for the writers. */
const stores: { name: string; make(): { options: OpenStoreOptions; args: string[] } }[] = [
  {
    name: "sqlite",
    make: () => {
      const db = join(tmp.dir, `state-${Date.now()}.db`);
      return { options: { path: db }, args: ["--db", db] };
    },
  },
  {
    name: "postgres",
    make: () => {
      const schema = testSchemaName();
      schemas.push(schema);
      return { options: { url: postgresUrl(), schema }, args: ["--url", postgresUrl(), "--schema", schema] };
    },
  },
];

describe.each(stores)("fenced files across processes on $name", (backend) => {
  it("two writer processes appending to one file lose no line, and the disk ends at the last version", async () => {
    const { options, args } = backend.make();
    const dir = join(tmp.dir, `shared-${backend.name}`);
    const lines = 15;
    // The store's tables exist before the writers race to use them.
    await (await openStore(options)).close();
    const workers = ["a", "b"].map((name) =>
      spawnWorker("test/files/writer.ts", [...args, "--dir", dir, "--name", name, "--lines", String(lines)]),
    );
    const reports = await Promise.all(workers.map((w) => w.nextJson<{ name: string; conflicts: number }>()));
    for (const w of workers) expect((await w.exited).code).toBe(0);
    expect(reports.map((r) => r.name).sort()).toEqual(["a", "b"]);

    const store = await openStore(options);
    try {
      const files = new FencedFiles(store, { dir });
      const plan = await files.read("plan.md");
      expect(plan.version).toBe(2 * lines);
      const written = plan.content!.trim().split("\n");
      expect(written.sort()).toEqual(
        ["a", "b"].flatMap((n) => Array.from({ length: lines }, (_, i) => `${n}-${i}`)).sort(),
      );
      expect(readFileSync(join(dir, "plan.md"), "utf8")).toBe(plan.content);
      // Every acknowledged write is one committed event; every retry was a conflict the log recorded too.
      const events = await store.events(files.prefix);
      expect(events.filter((e) => e.outcome === "committed")).toHaveLength(2 * lines);
      expect(events.filter((e) => e.outcome === "conflict")).toHaveLength(reports.reduce((n, r) => n + r.conflicts, 0));
    } finally {
      await store.close();
    }
  }, 120_000);
});
