/**
 * Faults on the Postgres backend: a server connection terminated (`pg_terminate_backend`) inside a transaction and
 * after its commit landed but before the client heard so, a stalled host holding a key's lock, the LISTEN connection
 * dropping. In every case the caller gets `UNAVAILABLE` (outcome unknown) and the retry with the same opId applies
 * exactly once (G3); typed errors from the core pass through untouched.
 */
import net from "node:net";
import pg from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { storeError } from "../../src/backends/postgres/errors.js";
import { lockId } from "../../src/backends/postgres/locks.js";
import {
  PayloadTooLargeError,
  UnavailableError,
  openStore,
  op,
  type CommitRequest,
  type StateStore,
} from "../../src/index.js";
import { dropTestSchemas, postgresUrl, testSchemaName, withPgClient as admin } from "../support/backends.js";
import { commitWithin } from "../support/within.js";

const url = postgresUrl();
let schema: string;
const opened: StateStore[] = [];

async function host(options: Parameters<typeof openStore>[0] = {}, via = url): Promise<StateStore> {
  const store = await openStore({ pool: { max: 2 }, ...options, url: via, schema });
  opened.push(store);
  return store;
}

/** Terminates the server connections of one application name; returns how many. */
function terminate(applicationName: string, state?: string): Promise<number> {
  return admin(async (c) => {
    const { rows } = await c.query<{ ok: boolean }>(
      `SELECT pg_terminate_backend(pid, 5000) AS ok FROM pg_stat_activity
        WHERE application_name = $1 AND ($2::text IS NULL OR state = $2)`,
      [applicationName, state ?? null],
    );
    return rows.filter((r) => r.ok).length;
  });
}

/** The event log's outcomes for one opId, oldest first. */
async function outcomesOf(store: StateStore, opId: string): Promise<string[]> {
  return (await store.events("")).filter((e) => e.opId === opId).map((e) => e.outcome);
}

/**
 * A loopback TCP proxy in front of Postgres that injects one fault at a time: withhold the server's answer to the
 * next COMMIT (the transaction has landed, the client has not heard; closing the server side then closes the client
 * side), or drop the connection when the client sends a given statement.
 */
class FaultProxy {
  private readonly server = net.createServer((client) => this.pipe(client));
  private holdArmed: (() => void) | undefined;
  private dropArmed: { statement: string; left: number; dropped: () => void } | undefined;
  /** How many of the next new connections to refuse (the server is unreachable). */
  private refusing = 0;
  private readonly sockets = new Set<net.Socket>();

  async listen(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    const proxied = new URL(url);
    proxied.port = String((this.server.address() as net.AddressInfo).port);
    return proxied.toString();
  }

  /** Resolves once the answer to the next COMMIT is held back. */
  holdNextCommitAck(): Promise<void> {
    return new Promise((resolve) => (this.holdArmed = resolve));
  }

  /** Resolves once `count` connections were dropped, each as its client sent a query containing `statement`. */
  dropAtNext(statement: string, count = 1): Promise<void> {
    return new Promise((dropped) => (this.dropArmed = { statement, left: count, dropped }));
  }

  /** Refuses the next `count` new connections: they are closed before reaching the server (`Infinity`: all). */
  refuseNext(count: number): void {
    this.refusing = count;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server.close(r));
  }

  private pipe(client: net.Socket): void {
    if (this.refusing > 0) {
      this.refusing--;
      client.destroy();
      return;
    }
    const target = new URL(url);
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    this.sockets.add(client).add(upstream);
    let holding = false;
    let committing = false;
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("data", (chunk) => {
      const drop = this.dropArmed;
      if (drop && chunk.includes(drop.statement)) {
        end();
        if (--drop.left === 0) {
          this.dropArmed = undefined;
          drop.dropped();
        }
        return;
      }
      // COMMIT ends a batch, or is followed by the commit's NOTIFY in its own transaction.
      if (this.holdArmed && (chunk.includes("COMMIT\u0000") || chunk.includes("COMMIT;"))) committing = true;
      upstream.write(chunk);
    });
    upstream.on("data", (chunk) => {
      if (committing && !holding) {
        holding = true;
        const held = this.holdArmed!;
        this.holdArmed = undefined;
        held();
      }
      if (!holding) client.write(chunk);
    });
    client.on("close", end).on("error", end);
    upstream.on("close", end).on("error", end);
  }
}

beforeEach(() => {
  schema = testSchemaName();
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
  await dropTestSchemas(url, [schema]);
});

describe("postgres: a lost connection mid-commit", () => {
  it("G3: terminated inside the transaction → UNAVAILABLE, nothing landed, the retry with the same opId applies once", async () => {
    const app = `fenced-victim-${schema}`;
    const store = await host({ pool: { max: 1, applicationName: app } });
    await store.commit({ key: "count", op: op.increment(10) });
    const request: CommitRequest & { opId: string } = { key: "count", op: op.increment(1), opId: "terminated-inside" };
    let killed = 0;
    const first = await commitWithin(store, request, async () => {
      // All writes are done; the COMMIT has not been sent yet.
      killed = await terminate(app, "idle in transaction");
    }).catch((e: unknown) => e);
    expect(killed).toBe(1);
    expect(first).toMatchObject({ code: "UNAVAILABLE", retryable: true });
    expect((await store.read("count")).value).toBe(10);

    const retried = await store.commitRetryingUnavailable(request);
    expect(retried).toMatchObject({ replayed: false, version: 2 });
    const again = await store.commit(request);
    expect(again).toMatchObject({ replayed: true, version: 2, seq: retried.seq });
    expect((await store.read("count")).value).toBe(11);
    expect(await outcomesOf(store, request.opId)).toEqual(["committed", "replayed"]);
  });

  it("G3: terminated after the commit landed but before its acknowledgement → the retry replays, nothing applies twice", async () => {
    const proxy = new FaultProxy();
    const proxied = await proxy.listen();
    try {
      const app = `fenced-unacked-${schema}`;
      const store = await host({ pool: { max: 1, applicationName: app } }, proxied);
      const observer = await host();
      await store.commit({ key: "count", op: op.increment(10) });
      const request: CommitRequest & { opId: string } = {
        key: "count",
        op: op.increment(1),
        opId: "terminated-after-commit",
      };

      const held = proxy.holdNextCommitAck();
      const attempt = store.commit(request).catch((e: unknown) => e);
      await held;
      // The server has committed and answered; the client is still waiting when its connection is terminated.
      expect((await observer.read("count")).value).toBe(11);
      expect(await terminate(app)).toBe(1);
      expect(await attempt).toMatchObject({ code: "UNAVAILABLE", retryable: true });

      const retried = await store.commitRetryingUnavailable(request);
      expect(retried).toMatchObject({ replayed: true, version: 2 });
      expect((await observer.read("count")).value).toBe(11);
      expect(await outcomesOf(observer, request.opId)).toEqual(["committed", "replayed"]);
    } finally {
      await proxy.close();
    }
  });
});

describe("postgres: a lost connection mid-snapshot", () => {
  it("a snapshot whose connection is terminated answers UNAVAILABLE, and the connection is dropped, not pooled again", async () => {
    const app = `fenced-snap-${schema}`;
    const store = await host({ pool: { max: 1, applicationName: app } });
    await store.commit({ key: "snap/k", op: op.set(1) });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let opened!: () => void;
    const isOpen = new Promise<void>((resolve) => (opened = resolve));
    const snapshot = store.backend.snapshot(async (r) => {
      await r.lastSeq();
      opened();
      await held;
      return r.getRecords(["snap/k"]);
    });
    await isOpen;
    expect(await terminate(app, "idle in transaction")).toBe(1);
    release();
    expect(await snapshot.catch((e: unknown) => e)).toMatchObject({ code: "UNAVAILABLE", retryable: true });
    // The pool's one connection was the dead one: the next snapshot gets a new one and answers.
    expect(await store.readMany(["snap/k"])).toMatchObject({ records: [{ value: 1, version: 1 }] });
  });
});

describe("postgres: stalled hosts and dropped connections", () => {
  it("a pooled connection found dead at BEGIN is replaced at once: nothing of the commit reached it, no error", async () => {
    const proxy = new FaultProxy();
    const proxied = await proxy.listen();
    try {
      const store = await host({ pool: { max: 1 } }, proxied);
      await store.commit({ key: "k", op: op.increment(1) });
      const dropped = proxy.dropAtNext("BEGIN");
      await expect(store.commit({ key: "k", op: op.increment(1) })).resolves.toMatchObject({ version: 2 });
      await dropped;
      expect((await store.read("k")).value).toBe(2);
    } finally {
      await proxy.close();
    }
  });

  it("G6: a pooled connection found dead whose reconnect fails → UNAVAILABLE (retryable), and the retry applies once", async () => {
    const proxy = new FaultProxy();
    const proxied = await proxy.listen();
    try {
      const store = await host({ pool: { max: 1 } }, proxied);
      await store.commit({ key: "k", op: op.increment(1) });
      const request: CommitRequest & { opId: string } = { key: "k", op: op.increment(1), opId: "reconnect-fails" };
      const dropped = proxy.dropAtNext("BEGIN");
      proxy.refuseNext(Infinity);
      const err = await store.commit(request).catch((e: unknown) => e);
      await dropped;
      expect(err).toBeInstanceOf(UnavailableError);
      expect(err).toMatchObject({ code: "UNAVAILABLE", retryable: true });
      // Every later call is typed as well (no connection was released twice into the pool).
      await expect(store.commit(request)).rejects.toMatchObject({ code: "UNAVAILABLE", retryable: true });
      proxy.refuseNext(0);
      await expect(store.commitRetryingUnavailable(request)).resolves.toMatchObject({ replayed: false, version: 2 });
      expect((await store.read("k")).value).toBe(2);
      expect(await outcomesOf(store, request.opId)).toEqual(["committed"]);
    } finally {
      await proxy.close();
    }
  });

  it("G6: update() rides over a dead pooled connection whose first reconnect fails, and applies once", async () => {
    const proxy = new FaultProxy();
    const proxied = await proxy.listen();
    try {
      const store = await host({ pool: { max: 1 } }, proxied);
      await store.commit({ key: "n", op: op.set(1) });
      const dropped = proxy.dropAtNext("BEGIN");
      proxy.refuseNext(1);
      await expect(store.update("n", (v) => (v as number) + 1)).resolves.toMatchObject({ version: 2, value: 2 });
      await dropped;
      expect((await store.read("n")).value).toBe(2);
    } finally {
      await proxy.close();
    }
  });

  it("G6: every driver or server failure is typed: refused data is INVALID_INPUT, anything else UNAVAILABLE", () => {
    const dbError = (code: string) => Object.assign(new pg.DatabaseError("boom", 0, "error"), { code });
    for (const code of ["22021", "22P05", "22003", "54000"]) {
      expect(storeError(dbError(code)), code).toMatchObject({ code: "INVALID_INPUT", retryable: false });
    }
    const failures = [
      dbError("57P01"),
      dbError("40P01"),
      dbError("53300"),
      dbError("XX000"),
      new Error("Connection terminated unexpectedly"),
      new Error("Release called on client which has already been released to the pool."),
      "a string",
    ];
    for (const failure of failures) expect(storeError(failure)).toMatchObject({ code: "UNAVAILABLE", retryable: true });
  });

  it("G3/G6: concurrent commits over a pool whose every connection is dead and whose reconnects fail for a while: all typed, each applied once", async () => {
    const proxy = new FaultProxy();
    const proxied = await proxy.listen();
    try {
      const store = await host({ pool: { max: 3 } }, proxied);
      // Three pooled connections, idle and (to the pool) healthy.
      await Promise.all(["w/1", "w/2", "w/3"].map((key) => store.commit({ key, op: op.set(0) })));
      const dropped = proxy.dropAtNext("BEGIN", 3);
      proxy.refuseNext(4);
      const requests = Array.from({ length: 6 }, (_, i): CommitRequest & { opId: string } => ({
        key: "count",
        op: op.increment(1),
        opId: `concurrent-${i}`,
      }));
      const firstTries = await Promise.all(
        requests.map((r) =>
          store.commit(r).then(
            () => "ok",
            (e: unknown) => e,
          ),
        ),
      );
      await dropped;
      for (const outcome of firstTries) {
        if (outcome !== "ok") expect(outcome).toMatchObject({ code: "UNAVAILABLE", retryable: true });
      }
      expect(firstTries.filter((o) => o !== "ok").length).toBeGreaterThan(0);
      const retried = await Promise.all(requests.map((r) => store.commitRetryingUnavailable(r)));
      expect(retried.every((r) => r.version >= 1)).toBe(true);
      expect((await store.read("count")).value).toBe(6);
      for (const r of requests) expect(await outcomesOf(store, r.opId), r.opId).toContain("committed");
      const committed = (await store.events("")).filter(
        (e) => e.opId?.startsWith("concurrent-") && e.outcome === "committed",
      );
      expect(committed).toHaveLength(6);
      await expect(store.commit({ key: "count", op: op.increment(1) })).resolves.toMatchObject({ version: 7 });
    } finally {
      await proxy.close();
    }
  });

  it("a key lock held by a stalled host makes a commit UNAVAILABLE after the statement timeout, with nothing applied", async () => {
    const store = await host({ pool: { statementTimeoutMs: 300 } });
    const request: CommitRequest & { opId: string } = { key: "held", op: op.increment(1), opId: "waited" };
    const stalled = new pg.Client({ connectionString: url });
    await stalled.connect();
    try {
      await stalled.query("BEGIN");
      await stalled.query("SELECT pg_advisory_xact_lock($1::bigint)", [lockId(schema, "key", "held")]);
      await expect(store.commit(request)).rejects.toMatchObject({ code: "UNAVAILABLE" });
      expect((await store.read("held")).exists).toBe(false);
    } finally {
      await stalled.query("ROLLBACK");
      await stalled.end();
    }
    await expect(store.commit(request)).resolves.toMatchObject({ replayed: false, version: 1 });
    expect(await outcomesOf(store, request.opId)).toEqual(["committed"]);
  });

  it("a host stalled inside its transaction is cut off by the server, and waiting writers proceed", async () => {
    const stalledHost = await host({ pool: { idleInTransactionTimeoutMs: 300 } });
    const other = await host();
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    const stalled = commitWithin(stalledHost, { key: "k", op: op.set("zombie") }, async () => {
      entered();
      await new Promise((r) => setTimeout(r, 1500)); // a pause longer than the server allows
    }).catch((e: unknown) => e);
    await inside;
    await expect(other.commit({ key: "k", op: op.set("live") })).resolves.toMatchObject({ version: 1 });
    expect(await stalled).toMatchObject({ code: "UNAVAILABLE" });
    expect((await other.read("k")).value).toBe("live");
  });

  it("typed errors raised inside a transaction pass through untouched, and the connection stays usable", async () => {
    const store = await host({ pool: { max: 1 }, limits: { maxValueBytes: 16 } });
    const err = await store.commit({ key: "big", op: op.set("x".repeat(100)) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PayloadTooLargeError);
    expect(err).toMatchObject({ code: "PAYLOAD_TOO_LARGE", details: { limit: 16 } });
    expect((await store.read("big")).exists).toBe(false);
    await expect(store.commit({ key: "big", op: op.set("ok") })).resolves.toMatchObject({ version: 1 });
  });

  it("watchers keep being woken across hosts after the LISTEN connection is terminated", async () => {
    const app = `fenced-listener-${schema}`;
    const [watcherHost, writer] = await Promise.all([host({ pool: { applicationName: app } }), host()]);
    const listening = () =>
      admin(async (c) => {
        const { rows } = await c.query<{ pid: number }>(
          "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN%'",
          [app],
        );
        return rows.map((r) => r.pid);
      });
    const stop = new AbortController();
    const iterator = watcherHost.watch("w/", {
      fromSeq: (await watcherHost.backend.lastSeq()) + 1,
      signal: stop.signal,
      pollMs: 60_000,
    });
    const first = iterator.next();
    await expect.poll(listening, { timeout: 5000 }).toHaveLength(1);
    const [oldPid] = await listening();
    await admin((c) => c.query("SELECT pg_terminate_backend($1, 5000)", [oldPid]));
    await expect.poll(async () => (await listening()).filter((p) => p !== oldPid), { timeout: 5000 }).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 200)); // the reconnect's catch-up read is done; the watcher is parked
    const committed = await writer.commit({ key: "w/1", op: op.set(1) });
    const got = await Promise.race([first, new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 5000))]);
    stop.abort();
    await iterator.return(undefined);
    expect(got).toMatchObject({ value: { key: "w/1", seq: committed.seq } });
  });
});
