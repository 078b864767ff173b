/**
 * The Postgres event log without a commit-long lock (src/backends/postgres/events.ts, docs/postgres.md): seqs come
 * from a sequence, so transactions take them in one order and may commit in another; readers return only settled
 * events. The guarantee under test (G6 for watchers): a reader never returns a seq after a gap that a later commit
 * fills — so a watcher sees every committed seq exactly once, in increasing order — even while a long transaction
 * holds a low seq and later ones commit around it. Plus: old databases upgrade keeping their seqs.
 */
import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { POSTGRES_MIGRATIONS } from "../../src/backends/postgres/index.js";
import { openStore, op, type StateEvent, type StateStore } from "../../src/index.js";
import { dropTestSchemas, postgresUrl, testSchemaName, withPgClient as admin } from "../support/backends.js";
import { commitWithin } from "../support/within.js";

const url = postgresUrl();
let schema: string;
const opened: StateStore[] = [];

/** One more "host": its own pool on the test schema (its own connections, as far as the server can tell). */
async function host(max = 4): Promise<StateStore> {
  const store = await openStore({ pool: { max }, url, schema });
  opened.push(store);
  return store;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A transaction that takes its seq, appends its event, then sleeps `ms` before COMMIT (or throws: a rollback). With an
 * opId, as clients commit: the seq is taken inside the transaction, before the opId's record (without one, the event
 * travels with the COMMIT, and the window these tests hold open is that one statement batch).
 */
function slowCommit(store: StateStore, key: string, ms: number, rollback = false) {
  return commitWithin(store, { key, op: op.increment(1), opId: randomUUID() }, async () => {
    await sleep(ms);
    if (rollback) throw new Error("rolled back on purpose");
  });
}

beforeEach(() => {
  schema = testSchemaName();
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
  await dropTestSchemas(url, [schema]);
});

describe("postgres event log: readers see settled events only", () => {
  it("a snapshot never holds a commit whose smaller seq is still in flight: it waits and is a prefix state of the log", async () => {
    const [a, b, reader] = await Promise.all([host(), host(), host()]);
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = commitWithin(a, { key: "pair/slow", op: op.set(1), opId: randomUUID() }, async () => {
      entered();
      await gate;
    });
    await inside; // a holds the smaller seq, uncommitted
    const fast = await b.commit({ key: "pair/fast", op: op.set(1) });
    // The snapshot cannot be taken while a's seq is in flight (fast is visible, a is not: no prefix of the log).
    let answered = false;
    const snapshot = reader.readMany(["pair/slow", "pair/fast"]).finally(() => (answered = true));
    await sleep(300);
    expect(answered).toBe(false);
    release();
    const held = await slow;
    const { seq, records } = await snapshot;
    expect(held.seq).toBeLessThan(fast.seq!);
    expect(seq).toBeGreaterThanOrEqual(fast.seq!);
    expect(records.map((r) => r.exists)).toEqual([true, true]);
    // Whatever a snapshot shows is exactly the events up to its seq.
    const again = await reader.readMany(["pair/slow", "pair/fast"]);
    const events = await reader.events("pair/", { fromSeq: 1 });
    for (const [i, key] of ["pair/slow", "pair/fast"].entries()) {
      const upTo = events.filter((e) => e.key === key && e.outcome === "committed" && e.seq <= again.seq);
      expect(again.records[i]!.version).toBe(upTo.at(-1)?.version ?? 0);
    }
  });

  it("a snapshot taken as a smaller seq's transaction commits is still a prefix state of the log (60 rounds)", async () => {
    // The race: the snapshot is taken while `slow` is in flight, and `slow` ends before the reader looks at who is
    // registered. Each round releases `slow` while the reader is retrying, so some attempt lands in that window.
    const [a, b, reader] = await Promise.all([host(), host(), host()]);
    for (let round = 0; round < 60; round++) {
      let entered!: () => void;
      const inside = new Promise<void>((r) => (entered = r));
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const slow = commitWithin(a, { key: `race/${round}/slow`, op: op.set(1), opId: randomUUID() }, async () => {
        entered();
        await gate;
      });
      await inside;
      const fast = await b.commit({ key: `race/${round}/fast`, op: op.set(1) });
      const snapshot = reader.readMany([`race/${round}/slow`, `race/${round}/fast`]);
      await sleep(round % 5);
      release();
      const held = await slow;
      expect(held.seq).toBeLessThan(fast.seq!);
      const { seq, records } = await snapshot;
      // The snapshot began after fast committed, so it holds fast's seq, and so every smaller one: slow's too.
      expect(seq).toBeGreaterThanOrEqual(fast.seq!);
      expect(records.map((r) => r.exists)).toEqual([true, true]);
    }
  }, 60_000);

  it("G6: while a transaction holds a low seq, a later committed seq is neither read nor counted in lastSeq", async () => {
    const [a, b, reader] = await Promise.all([host(), host(), host()]);
    const before = await reader.backend.lastSeq();
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = commitWithin(a, { key: "held/slow", op: op.set(1), opId: randomUUID() }, async () => {
      entered();
      await gate;
    });
    await inside; // a has its seq and its event is appended, not committed
    const fast = await b.commit({ key: "held/fast", op: op.set(1) });
    // fast committed with a higher seq than the one a holds: reading it now would skip a's seq for good.
    expect(await reader.backend.readEvents({ prefix: "", afterSeq: 0, limit: 100 })).toEqual([]);
    expect(await reader.backend.lastSeq()).toBe(before);
    release();
    const held = await slow;
    expect(held.seq).toBeLessThan(fast.seq!);
    const events = await reader.backend.readEvents({ prefix: "", afterSeq: 0, limit: 100 });
    expect(events.map((e) => [e.key, e.seq])).toEqual([
      ["held/slow", held.seq],
      ["held/fast", fast.seq],
    ]);
    expect(await reader.backend.lastSeq()).toBe(fast.seq);
  });

  it("a long transaction outside this store (another schema, a plain client) holds nothing back: a commit is readable at once", async () => {
    const [store, reader] = await Promise.all([host(), host()]);
    await admin(async (c) => {
      await c.query("BEGIN");
      await c.query("SELECT pg_current_xact_id()"); // an open write transaction older than everything below
      try {
        const committed = await store.commit({ key: "foreign/k", op: op.set(1) });
        expect(
          (await reader.backend.readEvents({ prefix: "foreign/", afterSeq: 0, limit: 10 })).map((e) => e.seq),
        ).toEqual([committed.seq]);
        expect(await reader.backend.lastSeq()).toBe(committed.seq);
      } finally {
        await c.query("ROLLBACK");
      }
    });
  });

  it("G6: a rolled-back seq is a gap that never fills, and never stops readers", async () => {
    const [a, b, reader] = await Promise.all([host(), host(), host()]);
    const rolledBack = slowCommit(a, "gap/rolled-back", 150, true).catch((e: unknown) => e);
    await sleep(50);
    const after = await b.commit({ key: "gap/after", op: op.set(1) });
    expect(await rolledBack).toBeInstanceOf(Error);
    const events = await reader.backend.readEvents({ prefix: "gap/", afterSeq: 0, limit: 100 });
    expect(events.map((e) => [e.key, e.seq])).toEqual([["gap/after", after.seq]]);
    expect(await reader.backend.lastSeq()).toBe(after.seq);
  });

  it("G6: concurrent writers on separate pools, long and rolled-back transactions among them: a watcher and a polling reader see every committed seq exactly once, in order", async () => {
    const WRITERS = 4;
    const PER_WRITER = 25;
    const writers = await Promise.all(Array.from({ length: WRITERS }, () => host(3)));
    const watcherHost = await host(2);
    const readerHost = await host(2);
    const stop = new AbortController();
    const watched: StateEvent[] = [];
    const watching = (async () => {
      for await (const e of watcherHost.watch("", { fromSeq: 1, signal: stop.signal, pollMs: 2 })) watched.push(e);
    })();
    // A reader polling as fast as it can: every seq it is handed must never be overtaken by a smaller one later.
    const polled: number[] = [];
    let polling = true;
    const reading = (async () => {
      let after = 0;
      while (polling) {
        const events = await readerHost.backend.readEvents({ prefix: "", afterSeq: after, limit: 50 });
        for (const e of events) {
          polled.push(e.seq);
          after = e.seq;
        }
        if (events.length === 0) await sleep(1);
      }
    })();

    const committed: number[] = [];
    await Promise.all(
      writers.map(async (store, w) => {
        for (let i = 0; i < PER_WRITER; i++) {
          const key = `load/w${w}/k${i % 3}`;
          // Every fifth commit of writer 0 sleeps between its append and COMMIT while the others commit around it;
          // every seventh of writer 1 rolls back after holding its seq a while.
          if (w === 0 && i % 5 === 0) committed.push((await slowCommit(store, key, 120)).seq!);
          else if (w === 1 && i % 7 === 0) await slowCommit(store, key, 60, true).catch(() => undefined);
          else committed.push((await store.commit({ key, op: op.increment(1) })).seq!);
        }
      }),
    );
    const all = (await readerHost.backend.readEvents({ prefix: "", afterSeq: 0, limit: 10_000 })).map((e) => e.seq);
    expect([...all]).toEqual([...committed].sort((x, y) => x - y));
    // Bounds on waiting, not speed targets: a watcher or reader that skipped a seq would otherwise wait forever.
    await expect.poll(() => watched.length, { timeout: 20_000 }).toBeGreaterThanOrEqual(all.length);
    await expect.poll(() => polled.length, { timeout: 20_000 }).toBeGreaterThanOrEqual(all.length);
    stop.abort();
    polling = false;
    await Promise.all([watching, reading]);
    expect(watched.map((e) => e.seq)).toEqual(all);
    expect(polled).toEqual(all);
  }, 120_000);
});

describe("postgres event log: upgrade from the event_seq counter", () => {
  it("an existing database keeps its seqs, lastSeq and purge floor; new seqs continue above them", async () => {
    const s = `"${schema}"`;
    await admin(async (c) => {
      await c.query(`CREATE SCHEMA ${s}`);
      await c.query(
        `CREATE TABLE ${s}.schema_migrations (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      for (let v = 1; v <= 3; v++) {
        await c.query(POSTGRES_MIGRATIONS[v - 1]!.replaceAll("$S", s));
        await c.query(`INSERT INTO ${s}.schema_migrations (version) VALUES ($1)`, [v]);
      }
      // Seven events were handed out before the upgrade; retention kept the newest two.
      for (const seq of [6, 7]) {
        await c.query(
          `INSERT INTO ${s}.events (seq, ts, key, version, epoch, outcome) VALUES ($1, 0, 'old/k', $1, 0, 'committed')`,
          [seq],
        );
      }
      await c.query(`UPDATE ${s}.event_seq SET seq = 7`);
    });
    const store = await host();
    expect(await store.backend.lastSeq()).toBe(7);
    expect((await store.events("old/")).map((e) => e.seq)).toEqual([6, 7]);
    const next = await store.commit({ key: "new/k", op: op.set(1) });
    expect(next.seq).toBe(8);
    const tables = await admin((c) =>
      c.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = $1 AND tablename = 'event_seq'`,
        [schema],
      ),
    );
    expect(tables.rows[0]!.n).toBe(0);
  });
});
