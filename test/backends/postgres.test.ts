/**
 * What only the Postgres backend has to get right: migrations when many hosts start at once, key order under a
 * non-C database collation, READ COMMITTED races between pools (separate hosts as far as the server can tell),
 * deadlock-free multi-key txns, an event log a watcher can never skip ahead of, and LISTEN/NOTIFY wake-ups.
 * The shared conformance and model suites run on the `postgres` fixture too; these tests add to them.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { compareKeys } from "../../src/backends/key-order.js";
import { PostgresBackend, POSTGRES_MIGRATIONS } from "../../src/backends/postgres/index.js";
import { FencedStateError, openStore, op, type StateEvent, type StateStore } from "../../src/index.js";
import type { KeyState } from "../../src/backend.js";
import { dropTestSchemas, postgresUrl, testSchemaName, withPgClient as admin } from "../support/backends.js";
import { commitWithRows } from "../../src/core/store.js";
import { commitWithin } from "../support/within.js";
import { firstNotified } from "../support/postgres.js";

const url = postgresUrl();
let schema: string;
const opened: StateStore[] = [];

/** One more "host": its own pool on the test schema. */
async function host(options: Parameters<typeof openStore>[0] = {}): Promise<StateStore> {
  const store = await openStore({ pool: { max: 4 }, ...options, url, schema });
  opened.push(store);
  return store;
}

function codeOf(err: unknown): string {
  return err instanceof FencedStateError ? err.code : `untyped: ${String(err)}`;
}

beforeEach(() => {
  schema = testSchemaName();
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
  await dropTestSchemas(url, [schema]);
});

describe("postgres schema", () => {
  it("applies each migration exactly once when many hosts start at the same moment", async () => {
    const backends = await Promise.all(
      Array.from({ length: 6 }, () => PostgresBackend.open({ url, schema, pool: { max: 1 } })),
    );
    await Promise.all(backends.map((b) => b.close()));
    const again = await PostgresBackend.open({ url, schema, pool: { max: 1 } });
    await again.close();
    const rows = await admin((c) =>
      c.query<{ version: number }>(`SELECT version FROM "${schema}".schema_migrations ORDER BY version`),
    );
    expect(rows.rows.map((r) => r.version)).toEqual(POSTGRES_MIGRATIONS.map((_, i) => i + 1));
  });

  it("rejects a schema name that is not a plain identifier, or postgres options without a url, with INVALID_INPUT", async () => {
    await expect(openStore({ url, schema: 'x"; DROP TABLE y; --' })).rejects.toMatchObject({ code: "INVALID_INPUT" });
    await expect(openStore({ memory: true, schema })).rejects.toMatchObject({ code: "INVALID_INPUT" });
    await expect(openStore({ memory: true, pool: { max: 1 } })).rejects.toMatchObject({ code: "INVALID_INPUT" });
  });

  it("answers text PostgreSQL cannot hold (NUL in an opId or owner) with INVALID_INPUT and writes nothing", async () => {
    const store = await host();
    await expect(store.commit({ key: "k", op: op.set(1), opId: "a\u0000b" })).rejects.toMatchObject({
      code: "INVALID_INPUT",
    });
    await expect(store.commit({ key: "k", op: op.set(1), owner: "a\u0000b" })).rejects.toMatchObject({
      code: "INVALID_INPUT",
    });
    await expect(store.claim({ key: "k", owner: "\u0000", ttlMs: 1000 })).rejects.toMatchObject({
      code: "INVALID_INPUT",
    });
    expect(await store.read("k")).toMatchObject({ exists: false, version: 0 });
    expect(await store.events("")).toEqual([]);
  });

  it("maps an unreachable server to UNAVAILABLE", async () => {
    const err = await openStore({
      url: "postgres://fenced:fenced@127.0.0.1:1/fenced",
      schema,
      pool: { connectTimeoutMs: 2000 },
    }).catch((e: unknown) => e);
    expect(codeOf(err)).toBe("UNAVAILABLE");
  });

  it("lists keys in UTF-8 byte order even in a database whose collation is not C", async () => {
    const database = `fenced_test_db_${schema.slice("fenced_test_".length)}`; // swept by dropTestSchemas if left behind
    await admin((c) =>
      c.query(
        `CREATE DATABASE ${database} TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'`,
      ),
    );
    const dbUrl = new URL(url);
    dbUrl.pathname = `/${database}`;
    try {
      const keys = ["b", "B", "a", "A", "a/b", "a-b", "é", "e", "z", "ä", "\u{1F600}", "\uFFFD", "Z"];
      const store = await openStore({ url: dbUrl.toString(), schema, pool: { max: 2 } });
      try {
        for (const key of keys) await store.commit({ key, op: op.set(1) });
        const listed = (await store.list({ prefix: "" })).map((r) => r.key);
        expect(listed).toEqual([...keys].sort(compareKeys));
        // The database itself would order them otherwise: the test is not vacuous.
        const dbOrder = await admin(
          (c) => c.query<{ k: string }>("SELECT k FROM unnest($1::text[]) AS k ORDER BY k", [keys]),
          dbUrl.toString(),
        );
        expect(dbOrder.rows.map((r) => r.k)).not.toEqual(listed);
        const page = await store.list({ prefix: "a", after: "a" });
        expect(page.map((r) => r.key)).toEqual(["a-b", "a/b"]);
      } finally {
        await store.close();
      }
    } finally {
      await admin((c) => c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
    }
  });
});

describe("postgres under READ COMMITTED, several pools at once", () => {
  it("G1: of writers creating the same missing key on different pools, exactly one wins", async () => {
    const hosts = await Promise.all([host(), host(), host()]);
    for (let round = 0; round < 10; round++) {
      const key = `race/${round}`;
      const outcomes = await Promise.all(
        hosts.flatMap((h, i) =>
          [0, 1].map((j) =>
            h.commit({ key, op: op.set(`${i}.${j}`), expectVersion: 0 }).then(
              () => "committed",
              (e: unknown) => codeOf(e),
            ),
          ),
        ),
      );
      expect(outcomes.filter((o) => o === "committed")).toHaveLength(1);
      expect(outcomes.filter((o) => o !== "committed").every((o) => o === "VERSION_CONFLICT")).toBe(true);
      expect((await hosts[0]!.read(key)).version).toBe(1);
    }
  });

  it("G1: increments from several pools are never lost", async () => {
    const hosts = await Promise.all([host(), host(), host()]);
    await Promise.all(
      hosts.flatMap((h) => Array.from({ length: 30 }, () => h.commit({ key: "count", op: op.increment(1) }))),
    );
    const r = await hosts[0]!.read("count");
    expect(r).toMatchObject({ value: 90, version: 90 });
  });

  it("G4: multi-key txns naming the same keys in opposite orders never deadlock", async () => {
    const hosts = await Promise.all([host(), host()]);
    const keys = ["pair/a", "pair/b", "pair/c"];
    const outcomes = await Promise.all(
      hosts.flatMap((h, i) =>
        Array.from({ length: 30 }, (_, j) => {
          const order = (i + j) % 2 === 0 ? keys : [...keys].reverse();
          return h.txn(order.map((key) => ({ key, op: op.increment(1) }))).then(
            () => "committed",
            (e: unknown) => codeOf(e),
          );
        }),
      ),
    );
    expect(outcomes.filter((o) => o !== "committed")).toEqual([]);
    for (const key of keys) expect((await hosts[0]!.read(key)).value).toBe(60);
  });

  it("a commit's within reading a key late waits for its lock and sees another host's claim that landed meanwhile", async () => {
    const [writer, claimer] = await Promise.all([host(), host()]);
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let seen: KeyState | undefined;
    // The writer has taken its seq and appended its event when its within reads "run/claim" (an opId's commit takes
    // its seq inside the transaction, before the opId's record).
    const write = commitWithin(writer, { key: "run/head", op: op.set(1), opId: "run-head-1" }, async (tx) => {
      entered();
      await gate;
      seen = await tx.getKeyState("run/claim");
    });
    await inside;
    // No event-log lock: the claimer commits while the writer is still open (it used to wait for the writer).
    const claimed = await claimer.claim({ key: "run/claim", owner: "other-host", ttlMs: 10_000 });
    release();
    const written = await write;
    // The writer read "run/claim" under its lock, after the claim committed: it serializes after the claim.
    expect(seen?.claim).toMatchObject({ owner: "other-host", epoch: claimed.epoch });
    expect(claimed.epoch).toBe(1);
    const events = await writer.events("run/");
    // Seq order is the order seqs were taken, not commit order; both are there, each once.
    expect(events.map((e) => [e.key, e.outcome])).toEqual([
      ["run/head", "committed"],
      ["run/claim", "claimed"],
    ]);
    expect(events[0]!.seq).toBe(written.seq);
  });

  it("commits that only check the same guard key hold it shared: neither waits for the other's COMMIT, a claim of it waits", async () => {
    const [a, b, claimer] = await Promise.all([host(), host(), host()]);
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const guard = { key: "run/fence", epoch: null };
    // LangGraph's pending writes: no key written, the run fence checked.
    const first = commitWithRows(a, { requests: [], guards: [guard] }, async () => {
      entered();
      await gate;
    });
    await inside;
    await commitWithRows(b, { requests: [], guards: [guard] }, () => undefined); // does not wait for `first`
    let claimed = false;
    const claim = claimer.claim({ key: "run/fence", owner: "run-2", ttlMs: 10_000 }).then((c) => ((claimed = true), c));
    await new Promise((r) => setTimeout(r, 200));
    expect(claimed).toBe(false); // the claim waits for the guard holder still open
    release();
    await first;
    expect((await claim).epoch).toBe(1);
  });

  it("a commit that only checks a key's fence holds its claim, not its record: a write and a version guard of the key do not wait for it, a claim does and is waited for", async () => {
    const [a, writer, versioned, claimer] = await Promise.all([host(), host(), host(), host()]);
    await writer.commit({ key: "run/head", op: op.set(0) });
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    // LangGraph's pending writes, still open, and the run's next put of the head they are fenced by.
    const writes = commitWithRows(a, { requests: [], guards: [{ key: "run/head", epoch: null }] }, async () => {
      entered();
      await gate;
    });
    await inside;
    const waited = (ms: number) => new Promise<"waited">((r) => setTimeout(() => r("waited"), ms));
    const put = writer.commit({ key: "run/head", op: op.set(1), expectVersion: 1 });
    expect(await Promise.race([put.then((r) => r.version), waited(2000)])).toBe(2); // it did not wait
    // A commit that reads the key's record (a version guard) waits for its writers only; the fence holder is no writer.
    const guarded = commitWithRows(
      versioned,
      { requests: [], guards: [{ key: "run/head", version: 2 }] },
      () => undefined,
    );
    expect(await Promise.race([guarded.then(() => "landed"), waited(2000)])).toBe("landed");
    let claimed = false;
    const claim = claimer.claim({ key: "run/head", owner: "run-2", ttlMs: 10_000 }).then((c) => ((claimed = true), c));
    await new Promise((r) => setTimeout(r, 200));
    expect(claimed).toBe(false); // a claim changes what the open fence check read: it waits for it
    release();
    await writes;
    expect((await claim).epoch).toBe(1);
    // And the other way: while a claim is open, a fence check of its key waits for it and then sees the new epoch.
    let claimEntered!: () => void;
    const claimInside = new Promise<void>((r) => (claimEntered = r));
    let releaseClaim!: () => void;
    const claimGate = new Promise<void>((r) => (releaseClaim = r));
    const held = claimer.backend.transact(async (tx) => {
      await tx.lock?.({ keys: ["run/head"], claims: true });
      claimEntered();
      await claimGate;
    });
    await claimInside;
    let checked = false;
    const check = commitWithRows(a, { requests: [], guards: [{ key: "run/head", epoch: 1 }] }, () => undefined).then(
      () => (checked = true),
    );
    await new Promise((r) => setTimeout(r, 200));
    expect(checked).toBe(false);
    releaseClaim();
    await held;
    await check;
  });

  it("G3: one opId raced with two payloads on two pools: one commits, the other is IDEMPOTENCY_MISMATCH", async () => {
    const [a, b] = await Promise.all([host(), host()]);
    for (let round = 0; round < 15; round++) {
      const opId = `op-${round}`;
      const outcomes = await Promise.all([
        a.commit({ key: `left/${round}`, op: op.set(1), opId }).then(() => "committed", codeOf),
        b.commit({ key: `right/${round}`, op: op.set(1), opId }).then(() => "committed", codeOf),
      ]);
      expect([...outcomes].sort()).toEqual(["IDEMPOTENCY_MISMATCH", "committed"]);
    }
  });

  it("G3: one opId raced with one payload on two pools applies once; the other call replays it", async () => {
    const [a, b] = await Promise.all([host(), host()]);
    for (let round = 0; round < 15; round++) {
      const request = { key: "replayed/count", op: op.increment(1), opId: `inc-${round}` };
      const results = await Promise.all([a.commit(request), b.commit(request)]);
      expect(results.map((r) => r.replayed).sort()).toEqual([false, true]);
      expect(results[0]!.version).toBe(results[1]!.version);
    }
    expect((await a.read("replayed/count")).value).toBe(15);
  });
});

describe("postgres event log", () => {
  it("G6: a watcher never misses an event whose transaction commits after a later one started", async () => {
    const [a, b, watcherHost] = await Promise.all([host(), host(), host()]);
    const seen: StateEvent[] = [];
    const stop = new AbortController();
    const watching = (async () => {
      for await (const e of watcherHost.watch("", { fromSeq: 1, signal: stop.signal, pollMs: 5 })) seen.push(e);
    })();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    // A holds its transaction open after writing its event (with an opId, so its seq is taken before the hook); B
    // commits another key meanwhile.
    const slow = commitWithin(a, { key: "slow", op: op.set(1), opId: "slow-1" }, () => gate);
    await new Promise((r) => setTimeout(r, 100));
    const fast = b.commit({ key: "fast", op: op.set(1) });
    await new Promise((r) => setTimeout(r, 300));
    release();
    const [s, f] = await Promise.all([slow, fast]);
    await expect.poll(() => seen.length, { timeout: 5000 }).toBeGreaterThanOrEqual(2);
    stop.abort();
    await watching;
    expect(s.seq).toBeLessThan(f.seq);
    expect(seen.map((e) => [e.key, e.seq])).toEqual([
      ["slow", s.seq],
      ["fast", f.seq],
    ]);
  });

  it("LISTEN/NOTIFY: a commit on one pool wakes a watcher on another without polling", async () => {
    const app = `fenced-listen-${schema}`;
    const [watcherHost, writer] = await Promise.all([host({ pool: { applicationName: app } }), host()]);
    const { committed, first } = await firstNotified(watcherHost, "notified/", app, () =>
      writer.commit({ key: "notified/x", op: op.set(1) }),
    );
    expect(first).toMatchObject({ value: { key: "notified/x", seq: committed.seq, outcome: "committed" } });
  });

  it("keeps idempotency and events within the retention policy", async () => {
    const store = await host({ retention: { maxEvents: 3, idempotencyMs: 1 } });
    for (let i = 0; i < 6; i++) await store.commit({ key: "kept", op: op.increment(1), opId: `p-${i}` });
    await new Promise((r) => setTimeout(r, 5)); // every idempotency record is now strictly older than the cut-off
    await store.purge();
    expect((await store.events("")).map((e) => e.seq)).toEqual([4, 5, 6]);
    const left = await admin((c) => c.query(`SELECT count(*)::int AS n FROM "${schema}".idempotency`));
    expect(left.rows[0]).toEqual({ n: 0 });
  });
});
