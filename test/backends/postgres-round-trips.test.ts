/**
 * What a LangGraph call costs the Postgres backend in queries (issue 18): node-postgres sends one query at a time,
 * so each query is a round trip. A checkpoint read is one statement (one snapshot, outside any transaction); a put
 * waits on four round trips and sends its NOTIFY behind the COMMIT without waiting; a put whose checkpoint id the
 * lineage already has writes nothing of its own; and `close` still delivers the NOTIFY of the last commit.
 */
import { uuid6, type Checkpoint } from "@langchain/langgraph-checkpoint";
import type { RunnableConfig } from "@langchain/core/runnables";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openStore, op, type StateStore } from "../../src/index.js";
import { FencedCheckpointSaver } from "../../src/langgraph/index.js";
import { commitWithin } from "../support/within.js";
import { queriesSentBy } from "../support/pg-queries.js";
import { firstNotified } from "../support/postgres.js";
import { dropTestSchemas, postgresUrl, testSchemaName, withPgClient as admin } from "../support/backends.js";

const url = postgresUrl();
let schema: string;
const opened: StateStore[] = [];

async function host(options: Parameters<typeof openStore>[0] = {}): Promise<StateStore> {
  const store = await openStore({ pool: { max: 4 }, ...options, url, schema });
  opened.push(store);
  return store;
}

beforeEach(() => {
  schema = testSchemaName();
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
  await dropTestSchemas(url, [schema]);
});

function checkpoint(step: number): Checkpoint {
  return {
    v: 4,
    id: uuid6(step),
    ts: new Date().toISOString(),
    channel_values: { messages: [`message ${step}`], step },
    channel_versions: { messages: step + 1, step: step + 1 },
    versions_seen: {},
  };
}

async function chain(saver: FencedCheckpointSaver, steps: number): Promise<RunnableConfig> {
  let config: RunnableConfig = { configurable: { thread_id: "t", checkpoint_ns: "" } };
  for (let step = 0; step < steps; step++) {
    config = await saver.put(
      config,
      checkpoint(step),
      { source: "loop", step, parents: {} },
      {
        messages: step + 1,
        step: step + 1,
      },
    );
  }
  return config;
}

describe("postgres round trips of the LangGraph saver", () => {
  it("reads a checkpoint (latest, by id, a list page) in one statement outside any transaction", async () => {
    const saver = new FencedCheckpointSaver(await host());
    const head = await chain(saver, 3);
    const latest = { configurable: { thread_id: "t", checkpoint_ns: "" } };
    for (const read of [
      () => saver.getTuple(latest),
      () => saver.getTuple(head),
      async () => {
        for await (const _ of saver.list(latest, { limit: 10 }));
      },
    ]) {
      const sent = await queriesSentBy(read);
      expect(sent).toHaveLength(1);
      // One statement: no BEGIN before it, no second statement after it.
      expect(sent[0]).toMatch(/^\s*SELECT\b/);
      expect(sent[0]).not.toMatch(/;\s*\S/);
    }
    const tuples = [];
    for await (const t of saver.list(latest, { limit: 10 })) tuples.push(t);
    expect(tuples.map((t) => t.checkpoint.channel_values.step)).toEqual([2, 1, 0]);
    expect((await saver.getTuple(latest))?.checkpoint.channel_values).toEqual({ messages: ["message 2"], step: 2 });
  });

  it("waits on four round trips for a put (locks and state; record and event; checkpoint row; values and COMMIT), then sends the NOTIFY unwaited", async () => {
    const saver = new FencedCheckpointSaver(await host());
    const head = await chain(saver, 2);
    const sent = await queriesSentBy(() =>
      saver.put(head, checkpoint(2), { source: "loop", step: 2, parents: {} }, { messages: 3, step: 3 }),
    );
    expect(sent).toHaveLength(5);
    expect(sent[0]).toMatch(/^BEGIN;/);
    expect(sent[3]).toMatch(/COMMIT$/);
    expect(sent[4]).toMatch(/pg_notify/);
  });

  it("a checkpoint insert whose id the lineage has writes nothing: no row, no value", async () => {
    const store = await host();
    const row = (channel: string) => ({
      threadId: "t",
      ns: "",
      checkpointId: "c1",
      parentId: null,
      headVersion: 1,
      type: "json",
      checkpoint: Buffer.from("{}"),
      metadata: Buffer.from(`{"first":${channel === "a"}}`),
      blobRefs: { [channel]: { checkpointId: "c1", headVersion: 1 } },
    });
    const answers: boolean[] = [];
    for (const channel of ["a", "b"]) {
      await commitWithin(store, { key: `head/${channel}`, op: op.set(1) }, async (tx) => {
        answers.push(
          await tx.checkpoints!.insertCheckpoint(row(channel), [
            { channel, type: "json", value: Buffer.from(`"${channel}"`) },
          ]),
        );
      });
    }
    expect(answers).toEqual([true, false]);
    const blobs = await admin((c) =>
      c.query<{ channel: string }>(`SELECT channel FROM "${schema}".checkpoint_blobs ORDER BY channel`),
    );
    expect(blobs.rows.map((r) => r.channel)).toEqual(["a"]);
    const loaded = await store.backend.checkpoints!.getCheckpoint({ threadId: "t", ns: "", checkpointId: "c1" });
    expect(loaded?.metadata.toString()).toBe('{"first":true}');
    expect(loaded?.blobs).toEqual([{ channel: "a", type: "json", value: Buffer.from('"a"') }]);
  });

  it("close() after a commit still delivers its NOTIFY: a watcher on another pool is woken without polling", async () => {
    const app = `fenced-listen-${schema}`;
    const watcherHost = await host({ pool: { applicationName: app } });
    const writer = await openStore({ url, schema, pool: { max: 1 } });
    const { committed, first } = await firstNotified(watcherHost, "closing/", app, async () => {
      const result = await writer.commit({ key: "closing/x", op: op.set(1) });
      await writer.close();
      return result;
    });
    expect(first).toMatchObject({ value: { key: "closing/x", seq: committed.seq, outcome: "committed" } });
  });
});
