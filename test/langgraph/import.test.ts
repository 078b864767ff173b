/**
 * Import from the official savers (issue 19 item 5): every thread, namespace, checkpoint, value and pending write of a
 * SqliteSaver file or PostgresSaver schema lands in a fenced store on every backend, heads at each lineage's latest,
 * counted and verified; a second run copies nothing and writes nothing; the imported thread reads back exactly as the
 * original (getState, getStateHistory, every tuple) and goes on working. A source that is no official saver's is
 * INVALID_INPUT and writes nothing.
 */
import { execFile } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { Command, MemorySaver } from "@langchain/langgraph";
import {
  emptyCheckpoint,
  uuid6,
  type BaseCheckpointSaver,
  type CheckpointTuple,
} from "@langchain/langgraph-checkpoint";
import { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres";
import { SqliteSaver } from "@langchain/langgraph-checkpoint-sqlite";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { FencedError, InvalidInputError, openStore, type StateStore } from "../../src/index.js";
import { FencedCheckpointSaver, importCheckpoints, withThreadClaim } from "../../src/langgraph/index.js";
import { dropTestSchemas, oneFixture, postgresUrl, tempDir, testSchemaName } from "../support/backends.js";
import { ROOT } from "../support/processes.js";
import { approvalGraph, historyOf, runApprovals, thread, type ApprovalGraph } from "./fixtures/approval-graph.js";
import { saverFixtures } from "./fixtures/checkpoints.js";

const tmp = tempDir();
const pgSchemas: string[] = [];
afterAll(async () => {
  tmp.remove();
  await dropTestSchemas(postgresUrl(), pgSchemas);
});

let files = 0;
/** An official source with the threads every test reads: see `fillSource`. */
interface Source {
  from: string;
  saver: BaseCheckpointSaver;
  fromSchema?: string;
  close(): Promise<void>;
}
const sources: Record<string, () => Promise<Source>> = {
  SqliteSaver: async () => {
    const path = join(tmp.dir, `official-${++files}.db`);
    const saver = SqliteSaver.fromConnString(path);
    return { from: `sqlite:${path}`, saver, close: async () => void saver.db.close() };
  },
  PostgresSaver: async () => {
    const schema = testSchemaName();
    pgSchemas.push(schema);
    const saver = PostgresSaver.fromConnString(postgresUrl(), { schema });
    await saver.setup();
    return { from: `postgres:${postgresUrl()}`, fromSchema: schema, saver, close: () => saver.end() };
  },
};

/**
 * Three threads: "t" left waiting at an interrupt with a pending write beside it (after a subgraph and a resume),
 * "u" forked by time travel (`updateState` on an old checkpoint; the fork is the latest), "v" one finished run.
 */
async function fillSource(graph: ApprovalGraph): Promise<void> {
  await runApprovals(graph, thread("t"));
  await runApprovals(graph, thread("u"));
  const old = (await historyOf(graph, thread("u")))[4]!;
  await graph.updateState(old.config, { count: 100 }, "step");
  await graph.invoke({ log: ["only"] }, thread("v"));
  await graph.invoke(new Command({ resume: "ok" }), thread("v"));
}

/** Every tuple of a saver, pending writes in (task, channel) order (SqliteSaver returns them in insertion order). */
async function allTuples(saver: BaseCheckpointSaver): Promise<Map<string, CheckpointTuple>> {
  const out = new Map<string, CheckpointTuple>();
  for await (const t of saver.list({})) {
    const c = t.config.configurable!;
    const sorted = [...(t.pendingWrites ?? [])].sort((a, b) =>
      a[0] + a[1] < b[0] + b[1] ? -1 : a[0] + a[1] > b[0] + b[1] ? 1 : 0,
    );
    out.set(`${c.thread_id}|${c.checkpoint_ns}|${c.checkpoint_id}`, {
      checkpoint: t.checkpoint,
      metadata: t.metadata,
      pendingWrites: sorted,
      parentId: t.parentConfig?.configurable?.checkpoint_id,
    } as unknown as CheckpointTuple);
  }
  return out;
}

/** A snapshot without the saver object LangGraph puts into a subgraph state's config (the one thing that differs). */
function withoutSaver<T>(value: T): T {
  if (Array.isArray(value)) return value.map(withoutSaver) as T;
  if (value === null || typeof value !== "object" || value instanceof Date) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (k !== "__pregel_checkpointer") out[k] = withoutSaver(v);
  return out as T;
}

async function eventCount(store: StateStore): Promise<number> {
  return (await store.events("", { fromSeq: 1, limit: 100_000 })).length;
}

for (const [sourceName, openSource] of Object.entries(sources)) {
  for (const fixture of saverFixtures()) {
    describe(`importCheckpoints: ${sourceName} → FencedCheckpointSaver on ${fixture.name}`, () => {
      afterEach(() => fixture.cleanup());

      it("copies everything, heads at the latest, reads back the same state and history, and a second run copies nothing", async () => {
        const source = await openSource();
        try {
          const original = approvalGraph(source.saver);
          await fillSource(original);
          const store = await fixture.open();
          const to = new FencedCheckpointSaver(store);
          const options = { from: source.from, to, ...(source.fromSchema && { fromSchema: source.fromSchema }) };

          const first = await importCheckpoints(options);
          const theirs = await allTuples(source.saver);
          const namespaces = new Set([...theirs.keys()].map((k) => k.split("|").slice(0, 2).join("|")));
          const writes = [...theirs.values()].reduce((n, t) => n + t.pendingWrites!.length, 0);
          expect(first.source).toEqual({ threads: 3, namespaces: namespaces.size, checkpoints: theirs.size, writes });
          expect(namespaces.size).toBeGreaterThan(3); // subgraph namespaces came along
          expect(writes).toBeGreaterThan(10);
          expect(first.copied).toEqual({ checkpoints: theirs.size, writes });
          expect(first.verified).toEqual({ ...first.source, heads: namespaces.size });

          // Every tuple, byte for byte as LangGraph sees it.
          expect(await allTuples(to)).toEqual(theirs);
          // The graph reads the same thread: state with subgraphs, history, the pending interrupt, the fork.
          const imported = approvalGraph(to);
          for (const id of ["t", "u", "v"]) {
            const state = async (graph: ApprovalGraph) =>
              withoutSaver(await graph.getState(thread(id), { subgraphs: true }));
            expect(await state(imported)).toEqual(await state(original));
            expect(await historyOf(imported, thread(id))).toEqual(await historyOf(original, thread(id)));
          }
          expect((await imported.getState(thread("u"))).values.count).toBe(100);
          expect((await imported.getState(thread("t"))).tasks.flatMap((t) => t.interrupts.map((i) => i.value))).toEqual(
            ["approve 22?"],
          );

          // Idempotent: nothing copied, nothing written.
          const events = await eventCount(store);
          const second = await importCheckpoints(options);
          expect(second.copied).toEqual({ checkpoints: 0, writes: 0 });
          expect(second.verified).toEqual(first.verified);
          expect(await eventCount(store)).toBe(events);

          // The imported thread goes on: its interrupt resumes, as on the original, and the run is fenced as usual.
          for (const graph of [original, imported]) await graph.invoke(new Command({ resume: "later" }), thread("t"));
          expect((await imported.getState(thread("t"))).values).toEqual((await original.getState(thread("t"))).values);
          await imported.invoke({ log: ["after"] }, thread("u"));
          expect((await imported.getState(thread("u"))).values.log).toContain("after");
        } finally {
          await source.close();
        }
      });
    });
  }
}

for (const fixture of saverFixtures()) {
  describe(`importCheckpoints into a live fenced store on ${fixture.name}`, () => {
    afterEach(() => fixture.cleanup());

    it("G2: an import into a thread a run holds is FENCED; after the run, the import completes", async () => {
      const source = await sources.SqliteSaver!();
      try {
        await runApprovals(approvalGraph(source.saver), thread("t"));
        const to = new FencedCheckpointSaver(await fixture.open());
        await withThreadClaim(to, thread("t"), async () => {
          await expect(importCheckpoints({ from: source.from, to })).rejects.toBeInstanceOf(FencedError);
        });
        const result = await importCheckpoints({ from: source.from, to });
        expect(result.verified).toEqual({ ...result.source, heads: result.source.namespaces });
        expect(await allTuples(to)).toEqual(await allTuples(source.saver));
      } finally {
        await source.close();
      }
    });

    it("copies just what the source added since the last import, and the head follows it", async () => {
      const source = await sources.SqliteSaver!();
      try {
        const original = approvalGraph(source.saver);
        await runApprovals(original, thread("t"));
        const to = new FencedCheckpointSaver(await fixture.open());
        const first = await importCheckpoints({ from: source.from, to });
        await original.invoke(new Command({ resume: "later" }), thread("t"));
        const second = await importCheckpoints({ from: source.from, to });
        expect(second.copied.checkpoints).toBe(second.source.checkpoints - first.source.checkpoints);
        expect(second.copied.checkpoints).toBeGreaterThan(0);
        expect(second.verified).toEqual({ ...second.source, heads: second.source.namespaces });
        expect(await historyOf(approvalGraph(to), thread("t"))).toEqual(await historyOf(original, thread("t")));
      } finally {
        await source.close();
      }
    });
  });
}

describe("importCheckpoints: sources that are no official saver's", () => {
  const fixture = oneFixture(saverFixtures());
  afterEach(() => fixture.cleanup());

  async function refused(from: string, message: RegExp, fromSchema?: string) {
    const store = await fixture.open();
    const events = await eventCount(store);
    const read = importCheckpoints({ from, to: new FencedCheckpointSaver(store), ...(fromSchema && { fromSchema }) });
    await expect(read).rejects.toBeInstanceOf(InvalidInputError);
    await expect(read).rejects.toThrow(message);
    expect(await eventCount(store)).toBe(events);
  }

  it("refuses a missing file, a text file and a fenced store's own file with INVALID_INPUT, writing nothing", async () => {
    await refused(`sqlite:${join(tmp.dir, "missing.db")}`, /no file at .*expected an official SqliteSaver database/);
    const text = join(tmp.dir, "notes.txt");
    writeFileSync(text, "not a database at all, just some words that are long enough to be a header ".repeat(20));
    await refused(`sqlite:${text}`, /expected an official SqliteSaver database/);
    const fenced = join(tmp.dir, "fenced.db");
    await (await openStore({ path: fenced })).close();
    await refused(
      `sqlite:${fenced}`,
      /table checkpoints lacks checkpoint_ns.*expected an official SqliteSaver database/,
    );
  });

  it("refuses a source whose checkpoint names a parent it does not have, before writing anything", async () => {
    const memory = new MemorySaver();
    const orphan = { ...emptyCheckpoint(), id: uuid6(1) };
    await memory.put({ configurable: { thread_id: "t", checkpoint_ns: "", checkpoint_id: "gone" } }, orphan, {
      source: "loop",
      step: 1,
      parents: {},
    });
    const store = await fixture.open();
    const read = importCheckpoints({ from: memory, to: new FencedCheckpointSaver(store) });
    await expect(read).rejects.toBeInstanceOf(InvalidInputError);
    await expect(read).rejects.toThrow(
      `thread "t": checkpoint ${orphan.id} names parent gone, which the source does not have`,
    );
    expect(await eventCount(store)).toBe(0);
  });

  it("refuses a PostgreSQL schema without PostgresSaver's tables, and a source string it does not know", async () => {
    await refused(
      `postgres:${postgresUrl()}`,
      /schema "no_such_schema" lacks checkpoints.*official PostgresSaver schema/,
      "no_such_schema",
    );
    await refused("mysql://localhost/checkpoints", /expected "sqlite:PATH".*or "postgres:URL"/);
  });
});

describe("fenced import (CLI)", () => {
  const cli = (args: string[]) =>
    promisify(execFile)(process.execPath, ["--import", "tsx", "src/cli/main.ts", "import", ...args], {
      cwd: ROOT,
      timeout: 60_000,
    });

  it("imports a SqliteSaver file into a fenced SQLite file, prints the counts, and copies 0 the second time", async () => {
    const path = join(tmp.dir, "cli-official.db");
    const official = SqliteSaver.fromConnString(path);
    await fillSource(approvalGraph(official));
    official.db.close();
    const target = join(tmp.dir, "cli-fenced.db");
    const first = await cli(["--from", `sqlite:${path}`, "--db", target]);
    const source = /fenced import: source\s+3 threads, (\d+) namespaces, (\d+) checkpoints, (\d+) writes/.exec(
      first.stdout,
    );
    expect(source, first.stdout).not.toBeNull();
    const [, namespaces, checkpoints, writes] = source!;
    expect(first.stdout).toContain(`fenced import: copied   ${checkpoints} checkpoints, ${writes} writes`);
    expect(first.stdout).toContain(
      `fenced import: verified 3 threads, ${namespaces} namespaces, ${checkpoints} checkpoints, ${writes} writes, ${namespaces} heads`,
    );
    const second = await cli(["--from", `sqlite:${path}`, "--db", target]);
    expect(second.stdout).toContain("fenced import: copied   0 checkpoints, 0 writes");

    const to = await FencedCheckpointSaver.open({ path: target });
    const reopened = SqliteSaver.fromConnString(path);
    expect(await historyOf(approvalGraph(to), thread("t"))).toEqual(
      await historyOf(approvalGraph(reopened), thread("t")),
    );
    reopened.db.close();
    await to.close();
  });

  it("exits 2 with the expected source named when --from is no official saver's", async () => {
    const target = join(tmp.dir, "cli-2.db");
    const run = cli(["--from", `sqlite:${join(tmp.dir, "nothing.db")}`, "--db", target]);
    await expect(run).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/expected an official SqliteSaver database/),
    });
    expect(existsSync(target)).toBe(false);
  });
});
