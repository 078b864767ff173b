/**
 * A checkpoint read on PostgreSQL costs the same however long its thread is (issue 18): getTuple and list look each
 * value up by its key. Written as a join, the planner hashed every blob of the thread for each row it read, so a
 * read of a 300-checkpoint thread touched ~10× the buffers of a 30-checkpoint one. Measured with the server's own
 * count (EXPLAIN ANALYZE, BUFFERS) of the very statements the saver sends.
 */
import { uuid6, type ChannelVersions, type Checkpoint } from "@langchain/langgraph-checkpoint";
import type { RunnableConfig } from "@langchain/core/runnables";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FencedCheckpointSaver } from "../../src/langgraph/index.js";
import { statementsSentBy } from "../support/pg-queries.js";
import { dropTestSchemas, postgresUrl, testSchemaName, withPgClient } from "../support/backends.js";

const url = postgresUrl();
const schema = testSchemaName();
let saver: FencedCheckpointSaver;
/** Each thread's checkpoint configs, oldest first. */
const threads = new Map<string, RunnableConfig[]>();

function checkpoint(step: number): Checkpoint {
  return {
    v: 4,
    id: uuid6(step),
    ts: new Date().toISOString(),
    channel_values: { messages: [`message ${step}`], step, ...(step === 0 && { profile: { name: "p" } }) },
    channel_versions: { messages: step + 1, step: step + 1, profile: 1 },
    versions_seen: {},
  };
}

/** A thread of `steps` checkpoints, each the child of the one before (two new values each, one inherited). */
async function thread(id: string, steps: number): Promise<void> {
  const configs: RunnableConfig[] = [];
  let config: RunnableConfig = { configurable: { thread_id: id, checkpoint_ns: "" } };
  for (let step = 0; step < steps; step++) {
    const changed: ChannelVersions =
      step === 0 ? { messages: 1, step: 1, profile: 1 } : { messages: step + 1, step: step + 1 };
    config = await saver.put(config, checkpoint(step), { source: "loop", step, parents: {} }, changed);
    configs.push(config);
  }
  threads.set(id, configs);
}

/** Shared buffers the server touched running the one statement `read` sends (EXPLAIN ANALYZE, BUFFERS). */
async function buffersOf(read: () => Promise<unknown>): Promise<number> {
  const sent = await statementsSentBy(read);
  expect(sent.length).toBe(1);
  const { text, values } = sent[0]!;
  return withPgClient(async (client) => {
    const { rows } = await client.query<{ "QUERY PLAN": [{ Plan: Record<string, number> }] }>(
      `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${text}`,
      values,
    );
    const plan = rows[0]!["QUERY PLAN"][0].Plan;
    return (plan["Shared Hit Blocks"] ?? 0) + (plan["Shared Read Blocks"] ?? 0);
  }, url);
}

beforeAll(async () => {
  saver = await FencedCheckpointSaver.open({ url, schema });
  await thread("short", 30);
  await thread("long", 300);
}, 120_000);

afterAll(async () => {
  await saver?.close();
  await dropTestSchemas(url, [schema]);
});

const reads: [string, (id: string) => Promise<unknown>][] = [
  ["getTuple latest", (id) => saver.getTuple({ configurable: { thread_id: id, checkpoint_ns: "" } })],
  ["getTuple by id", (id) => saver.getTuple(threads.get(id)![20]!)],
  [
    "list (limit 10)",
    async (id) => {
      for await (const _ of saver.list({ configurable: { thread_id: id, checkpoint_ns: "" } }, { limit: 10 }));
    },
  ],
];

describe("PostgreSQL checkpoint reads", () => {
  it.each(reads)("%s touches as many buffers on a 300-checkpoint thread as on a 30-checkpoint one", async (_, read) => {
    const short = await buffersOf(() => read("short"));
    const long = await buffersOf(() => read("long"));
    // A B-tree one level deeper may add a page per lookup; a scan of the thread's blobs adds hundreds.
    expect(long).toBeLessThanOrEqual(short * 1.5 + 10);
  });

  it("reads back every value, its own and inherited, at both lengths", async () => {
    for (const id of ["short", "long"]) {
      const configs = threads.get(id)!;
      const tuple = await saver.getTuple(configs[configs.length - 1]!);
      expect(tuple?.checkpoint.channel_values).toEqual({
        messages: [`message ${configs.length - 1}`],
        step: configs.length - 1,
        profile: { name: "p" },
      });
    }
  });
});
