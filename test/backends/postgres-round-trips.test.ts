/**
 * What a LangGraph call costs the Postgres backend in queries (issue 18): node-postgres sends one query at a time,
 * so each query is a round trip. A checkpoint read is one statement (one snapshot, outside any transaction); a put
 * waits on two round trips (its event and checkpoint row travel with the COMMIT) and, when a connection listens,
 * sends its NOTIFY behind the COMMIT without waiting (with nobody listening, none); a put whose checkpoint id the
 * lineage already has writes nothing of its own; and `close` still delivers the NOTIFY of the last commit.
 */
import { uuid6, type Checkpoint } from "@langchain/langgraph-checkpoint";
import type { RunnableConfig } from "@langchain/core/runnables";
import pg from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openStore, op, type StateEvent, type StateStore } from "../../src/index.js";
import { FencedCheckpointSaver } from "../../src/langgraph/index.js";
import { commitWithin } from "../support/within.js";
import { isPrepare, queriesSentBy, statementsSentBy } from "../support/pg-queries.js";
import { firstNotified, listening } from "../support/postgres.js";
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

  it("waits on two round trips for a put (locks and state; record, event, checkpoint row, values and COMMIT), then sends the NOTIFY unwaited when a connection listens", async () => {
    const app = `fenced-listen-${schema}`;
    const store = await host();
    const watcherHost = await host({ pool: { applicationName: app } });
    const saver = new FencedCheckpointSaver(store);
    let head = await chain(saver, 2);
    const put = (step: number) =>
      queriesSentBy(
        async () => {
          head = await saver.put(
            head,
            checkpoint(step),
            { source: "loop", step, parents: {} },
            { messages: step + 1, step: step + 1 },
          );
        },
        { prepares: false },
      );
    // Nobody listens: the last batch asks (the probe before COMMIT) and no NOTIFY follows.
    const alone = await put(2);
    expect(alone).toHaveLength(2);
    expect(alone[0]).toMatch(/^BEGIN;/);
    expect(alone[1]).toMatch(
      /EXECUTE fenced_x_update_record\([\s\S]*EXECUTE fenced_x_append_event\([\s\S]*EXECUTE fenced_x_insert_checkpoint\([\s\S]*EXECUTE fenced_x_listened;\nCOMMIT$/,
    );
    // A watcher on another pool listens: the same put now sends its NOTIFY behind the COMMIT.
    const stop = new AbortController();
    const watching = (async () => {
      for await (const _ of watcherHost.watch("langgraph/", { signal: stop.signal, pollMs: 60_000 }));
    })();
    await listening(app);
    const sent = await put(3);
    stop.abort();
    await watching;
    expect(sent).toHaveLength(3);
    expect(sent[1]).toMatch(/EXECUTE fenced_x_listened;\nCOMMIT$/);
    expect(sent[2]).toMatch(/pg_notify/);
    const events = await store.events("langgraph/t/head/");
    expect(events.map((e) => [e.seq, e.version, e.outcome])).toEqual([
      [1, 1, "committed"],
      [2, 2, "committed"],
      [3, 3, "committed"],
      [4, 4, "committed"],
    ]);
  });

  it("a put whose checkpoint id the lineage has, sent with the COMMIT, rolls back its head and event: a re-put is answered, a different one refused", async () => {
    const store = await host();
    const saver = new FencedCheckpointSaver(store);
    const head = await chain(saver, 2);
    const before = await store.read("langgraph/t/head/~");
    const seq = await store.lastSeq();
    const same = checkpoint(1);
    const stored = (await saver.getTuple(head))!.checkpoint;
    // Its own child (LangGraph < 1.4.19 re-puts what it loaded): the head check passes, the insert finds the id.
    await expect(saver.put(head, stored, { source: "loop", step: 1, parents: {} }, {})).resolves.toEqual(head);
    await expect(
      saver.put(
        head,
        { ...same, id: stored.id, channel_values: { other: 1 } },
        { source: "loop", step: 1, parents: {} },
        {},
      ),
    ).rejects.toMatchObject({ code: "INVALID_INPUT" });
    expect(await store.read("langgraph/t/head/~")).toEqual(before);
    expect(await store.lastSeq()).toBe(seq);
  });

  it("a commit without an opId waits on two round trips (locks and state; record, event and COMMIT); with one, three (the record keeps the seq)", async () => {
    const store = await host();
    await store.commit({ key: "rt/x", op: op.set(0) });
    let result: Awaited<ReturnType<StateStore["commit"]>> | undefined;
    const plain = await queriesSentBy(
      async () => {
        result = await store.commit({ key: "rt/x", op: op.set(1), expectVersion: 1 });
      },
      { prepares: false },
    );
    // Nobody listens: no NOTIFY follows.
    expect(plain).toHaveLength(2);
    expect(plain[1]).toMatch(/EXECUTE fenced_x_append_event\([\s\S]*COMMIT$/);
    // The seq answered with the COMMIT is the event's in the log.
    expect((await store.events("rt/")).map((e) => [e.seq, e.version])).toEqual([
      [1, 1],
      [result!.seq, 2],
    ]);
    expect(result!.seq).toBe(2);
    const withOpId = await queriesSentBy(
      async () => {
        result = await store.commit({ key: "rt/x", op: op.set(2), expectVersion: 2, opId: "rt-op" });
      },
      { prepares: false },
    );
    expect(withOpId).toHaveLength(3);
    expect(withOpId[2]).toMatch(/EXECUTE fenced_x_put_idempotency\([\s\S]*COMMIT$/);
    expect(result).toMatchObject({ version: 3, seq: await store.lastSeq() });
    const replay = await store.commit({ key: "rt/x", op: op.set(2), expectVersion: 2, opId: "rt-op" });
    expect(replay).toMatchObject({ version: 3, seq: result!.seq, replayed: true });
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

  it("commits that land while a NOTIFY is in flight share one more, sent once it is answered: a watcher woken only by NOTIFY sees every commit", async () => {
    const app = `fenced-listen-${schema}`;
    const watcherHost = await host({ pool: { applicationName: app } });
    const writer = await host();
    // Every NOTIFY runs on the server at once, but its answer reaches the writer 300 ms late: it stays in flight.
    const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
    const original = proto.query;
    const notifies: string[] = [];
    const late =
      <A extends unknown[]>(answer: (...a: A) => void) =>
      (...a: A) =>
        setTimeout(() => answer(...a), 300);
    proto.query = function (this: unknown, ...args: unknown[]) {
      if (typeof args[0] !== "string" || !args[0].includes("pg_notify")) return original.apply(this, args);
      notifies.push(args[0]);
      // pg.Pool#query passes a callback; a client's own query answers a promise.
      const callback = args.at(-1);
      if (typeof callback === "function") return original.apply(this, [...args.slice(0, -1), late(callback as never)]);
      return new Promise((resolve, reject) => {
        (original.apply(this, args) as Promise<unknown>).then(late(resolve), late(reject));
      });
    };
    const stop = new AbortController();
    try {
      const from = (await watcherHost.backend.lastSeq()) + 1;
      const seen: StateEvent[] = [];
      const watching = (async () => {
        for await (const e of watcherHost.watch("wave/", { fromSeq: from, signal: stop.signal, pollMs: 60_000 })) {
          seen.push(e);
        }
      })();
      await listening(app);
      await writer.commit({ key: "wave/first", op: op.set(1) });
      await expect.poll(() => seen.length, { timeout: 5000 }).toBe(1);
      // The first NOTIFY is still in flight: these ten land behind it.
      await Promise.all(Array.from({ length: 10 }, (_, i) => writer.commit({ key: `wave/${i}`, op: op.set(i) })));
      expect(notifies).toHaveLength(1);
      // Only the NOTIFY sent after the first one's answer can wake the watcher in time (it polls once a minute).
      await expect.poll(() => seen.length, { timeout: 5000 }).toBe(11);
      expect(notifies).toHaveLength(2);
      stop.abort();
      await watching;
    } finally {
      stop.abort();
      proto.query = original;
    }
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

  it("each connection prepares the transaction statements once, before its first transaction; commits then EXECUTE them", async () => {
    const store = await host();
    const sent = await statementsSentBy(() =>
      Promise.all(Array.from({ length: 40 }, (_, i) => store.commit({ key: `prep/${i % 8}`, op: op.increment(1) }))),
    );
    const texts = sent.map((q) => q.text);
    const prepares = texts.filter(isPrepare);
    // A pool of 4: at most one PREPARE per connection, however many transactions each ran.
    expect(prepares.length).toBeGreaterThanOrEqual(1);
    expect(prepares.length).toBeLessThanOrEqual(4);
    for (const p of prepares) expect(p).toMatch(/PREPARE fenced_x_put_record\([\s\S]*PREPARE fenced_x_append_event\(/);
    // Every write ran as EXECUTE: no statement text of a record or an event went over the wire again.
    const writes = texts.filter((t) => !isPrepare(t) && /COMMIT$/.test(t));
    expect(writes).toHaveLength(40);
    for (const t of writes) {
      expect(t).not.toMatch(/INSERT INTO|UPDATE /);
      expect(t).toMatch(/EXECUTE fenced_x_(put|update)_record\([\s\S]*EXECUTE fenced_x_append_event\(/);
    }
    const total = (await Promise.all(Array.from({ length: 8 }, (_, i) => store.read(`prep/${i}`)))).reduce(
      (n, r) => n + (r.value as number),
      0,
    );
    expect(total).toBe(40);
  });

  it("a putWrites of any number of writes is one prepared statement (unnest), sent with its COMMIT, and keeps the first regular write", async () => {
    const saver = new FencedCheckpointSaver(await host());
    const head = await chain(saver, 1);
    for (const writes of [
      [["a", 1]],
      [
        ["a", 2],
        ["b", "x"],
        ["__error__", "boom"],
      ],
    ] as [string, unknown][][]) {
      const sent = await queriesSentBy(() => saver.putWrites(head, writes, "task-1"), { prepares: false });
      expect(sent).toHaveLength(2);
      expect(sent[1]).toMatch(/^EXECUTE fenced_x_put_writes\('t', '', '[^']+', ARRAY\[[\s\S]*COMMIT$/);
      expect(sent[1]).not.toMatch(/INSERT INTO/);
    }
    const tuple = await saver.getTuple(head);
    // (task-1, 0) was written twice: the first regular write stays; the error write has its own idx (-1, first).
    expect(tuple?.pendingWrites).toEqual([
      ["task-1", "__error__", "boom"],
      ["task-1", "a", 1],
      ["task-1", "b", "x"],
    ]);
  });

  it("a connection whose prepare fails is dropped, never pooled again: that commit is UNAVAILABLE with nothing applied, the next prepares a fresh connection", async () => {
    const store = await host({ pool: { max: 1 } });
    const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
    const original = proto.query;
    let failed = 0;
    proto.query = function (this: unknown, ...args: unknown[]) {
      if (typeof args[0] === "string" && isPrepare(args[0]) && failed++ === 0) {
        // Half of it lands (the first statement), then the query fails: the connection holds some of the names.
        return (original.call(this, args[0].split(";\n")[0]) as Promise<unknown>).then(() => {
          throw new Error("injected: prepare failed half-way");
        });
      }
      return original.apply(this, args);
    };
    let first: unknown;
    try {
      first = await store.commit({ key: "prep/x", op: op.set(1) }).catch((err: unknown) => err);
    } finally {
      proto.query = original;
    }
    expect(first).toMatchObject({ code: "UNAVAILABLE", retryable: true });
    expect((await store.read("prep/x")).version).toBe(0);
    // A pool of one: had the half-prepared connection been pooled again, this commit's PREPARE would fail on it.
    await expect(store.commit({ key: "prep/x", op: op.set(2) })).resolves.toMatchObject({ version: 1 });
    expect(await store.read("prep/x")).toMatchObject({ value: 2, version: 1 });
  });
});
