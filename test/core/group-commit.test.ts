/**
 * Group commit (src/backends/sqlite/group-commit.ts): transactions that wait for the SQLite connection run together in one
 * database transaction, each in its own savepoint. Grouping must be invisible: each transaction is all-or-nothing on
 * its own (G4), no caller hears "committed" before the COMMIT holding its writes (G5), and a failed group fails every
 * member, loudly (G6).
 */
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { GroupCommit, type GroupStatements } from "../../src/backends/sqlite/group-commit.js";
import { op, openStore } from "../../src/index.js";
import { tempDir } from "../support/backends.js";
import { commitWithin } from "../support/within.js";

const tmp = tempDir();
afterAll(() => tmp.remove());

/** A fake connection that logs every statement and body, with switches to make statements fail. */
function fakeConnection(options: { failCommit?: boolean } = {}) {
  const log: string[] = [];
  let open = false;
  const sql: GroupStatements = {
    begin: () => void (log.push("begin"), (open = true)),
    commit: () => {
      log.push("commit");
      if (options.failCommit) throw new Error("disk I/O error");
      open = false;
    },
    rollback: () => void (log.push("rollback"), (open = false)),
    savepoint: () => void log.push("savepoint"),
    release: () => void log.push("release"),
    rollbackToSavepoint: () => void log.push("rollback to savepoint"),
    inTransaction: () => open,
  };
  const group = new GroupCommit<string>("tx", sql, {
    maxSize: 64,
    maxMs: 1000,
    mapError: (err) => new Error(`mapped: ${(err as Error).message}`),
    onCommit: () => log.push("notify"),
  });
  return { log, group, abort: () => (open = false), sql };
}

const body = (log: string[], name: string, fail?: string) => async () => {
  log.push(name);
  if (fail) throw new Error(fail);
  return name;
};

describe("group commit (G4, G5, G6)", () => {
  it("runs the transactions that wait together in one database transaction, in call order", async () => {
    const { log, group } = fakeConnection();
    const results = await Promise.all([
      group.run(body(log, "a")),
      group.run(body(log, "b")),
      group.run(body(log, "c")),
    ]);
    expect(results).toEqual(["a", "b", "c"]);
    expect(log).toEqual(["begin", "a", "savepoint", "b", "release", "savepoint", "c", "release", "commit", "notify"]);
  });

  it("rolls a failing transaction back to its savepoint, alone; the others of its group land (G4)", async () => {
    const { log, group } = fakeConnection();
    const runs = [group.run(body(log, "a")), group.run(body(log, "b", "boom")), group.run(body(log, "c"))];
    const settled = await Promise.allSettled(runs);
    expect(settled.map((s) => s.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((settled[1] as PromiseRejectedResult).reason).toEqual(new Error("mapped: boom"));
    expect(log).toEqual([
      "begin",
      "a",
      "savepoint",
      "b",
      "rollback to savepoint",
      "release",
      "savepoint",
      "c",
      "release",
      "commit",
      "notify",
    ]);
  });

  it("rolls back a failing first transaction whole, and the ones after it form the next group", async () => {
    const { log, group } = fakeConnection();
    const settled = await Promise.allSettled([
      group.run(body(log, "a", "boom")),
      group.run(body(log, "b")),
      group.run(body(log, "c")),
    ]);
    expect(settled.map((s) => s.status)).toEqual(["rejected", "fulfilled", "fulfilled"]);
    expect(log).toEqual(["begin", "a", "rollback", "begin", "b", "savepoint", "c", "release", "commit", "notify"]);
  });

  it("answers no member before its group's COMMIT, and fails every member when that COMMIT fails (G5, G6)", async () => {
    const { log, group } = fakeConnection({ failCommit: true });
    const runs = ["a", "b"].map((n) =>
      group.run(body(log, n)).then(
        () => log.push(`${n} acknowledged`),
        (e: Error) => log.push(`${n}: ${e.message}`),
      ),
    );
    await Promise.all(runs);
    expect(log).toEqual([
      "begin",
      "a",
      "savepoint",
      "b",
      "release",
      "commit",
      "rollback",
      "a: mapped: disk I/O error",
      "b: mapped: disk I/O error",
    ]);
  });

  it("fails every member when the database rolled the whole group back by itself (disk full, I/O error)", async () => {
    const { log, group, abort } = fakeConnection();
    const failing = async () => {
      log.push("b");
      abort(); // what SQLite does on SQLITE_FULL: the transaction is gone
      throw new Error("database or disk is full");
    };
    const settled = await Promise.allSettled([
      group.run(body(log, "a")),
      group.run(failing),
      group.run(body(log, "c")),
    ]);
    expect(settled.map((s) => s.status)).toEqual(["rejected", "rejected", "fulfilled"]);
    expect((settled[0] as PromiseRejectedResult).reason).toEqual(new Error("mapped: database or disk is full"));
    expect(log).toEqual(["begin", "a", "savepoint", "b", "begin", "c", "commit", "notify"]);
  });

  it("with gather, transactions arriving in separate callbacks of one event-loop turn share one group", async () => {
    // A server reads each ready socket in a callback of its own: arrivals like these. Without gather each one runs
    // alone, as soon as it arrives (a lone caller's commit is not delayed).
    const arrive = (group: GroupCommit<string>, log: string[], gather: boolean) =>
      Promise.all(
        ["a", "b", "c", "d", "e"].map(
          (name) => new Promise((resolve) => setImmediate(() => resolve(group.run(body(log, name), { gather })))),
        ),
      );
    const groups = (log: string[]) => log.filter((entry) => entry === "commit").length;
    const gathered = fakeConnection();
    expect(await arrive(gathered.group, gathered.log, true)).toEqual(["a", "b", "c", "d", "e"]);
    expect(groups(gathered.log)).toBe(1);
    const immediate = fakeConnection();
    expect(await arrive(immediate.group, immediate.log, false)).toEqual(["a", "b", "c", "d", "e"]);
    expect(groups(immediate.log)).toBe(5);
  });

  it("a transaction without gather does not wait for a gathering group: both land at once", async () => {
    const { log, group } = fakeConnection();
    const gathered = group.run(body(log, "gathered"), { gather: true });
    const now = group.run(body(log, "now"));
    let immediateLanded = false;
    await now.then(() => (immediateLanded = true));
    // No event-loop turn has passed, and both landed in the one group the immediate transaction started.
    expect(immediateLanded).toBe(true);
    expect(await gathered).toBe("gathered");
    expect(log).toEqual(["begin", "gathered", "savepoint", "now", "release", "commit", "notify"]);
  });

  it("an exclusive body asked for while a group runs goes right after it, before transactions issued later", async () => {
    const { log, group } = fakeConnection();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const first = group.run(async () => {
      log.push("first");
      await held;
      return "first";
    });
    await new Promise((resolve) => setImmediate(resolve)); // the first group is running, held open
    const exclusive = group.exclusive(async () => {
      log.push("exclusive");
      return "x";
    });
    // The next transaction is issued the moment the first one is answered, as a busy caller's would be: the group
    // has committed and the drain has not yet moved on.
    const later = first.then(() => group.run(body(log, "later")));
    release();
    expect(await Promise.all([first, exclusive, later])).toEqual(["first", "x", "later"]);
    expect(log).toEqual(["begin", "first", "commit", "notify", "exclusive", "begin", "later", "commit", "notify"]);
  });

  it("an exclusive body that throws rejects its caller only; the next transaction still lands", async () => {
    const { log, group } = fakeConnection();
    await expect(
      group.exclusive(async () => {
        throw new Error("pragma failed");
      }),
    ).rejects.toThrow("pragma failed");
    expect(await group.run(body(log, "next"))).toBe("next");
    expect(log).toEqual(["begin", "next", "commit", "notify"]);
  });

  it("keeps a group within its size bound", async () => {
    const log: string[] = [];
    const { sql } = fakeConnection();
    const wrapped: GroupStatements = {
      ...sql,
      begin: () => (log.push("begin"), sql.begin()),
      commit: () => (log.push("commit"), sql.commit()),
    };
    const group = new GroupCommit("tx", wrapped, {
      maxSize: 2,
      maxMs: 1000,
      mapError: (e) => e,
      onCommit: () => undefined,
    });
    await Promise.all(["a", "b", "c", "d", "e"].map((n) => group.run(body(log, n))));
    expect(log).toEqual(["begin", "a", "b", "commit", "begin", "c", "d", "commit", "begin", "e", "commit"]);
  });

  it("on SQLite: concurrent commits land together except the one whose transaction failed after writing, and survive reopen", async () => {
    const path = join(tmp.dir, "group.db");
    const store = await openStore({ path });
    const keys = Array.from({ length: 8 }, (_, i) => `group/k${i}`);
    const settled = await Promise.allSettled(
      keys.map((key, i) =>
        i === 3
          ? commitWithin(store, { key, op: op.set(i), expectVersion: 0 }, () =>
              Promise.reject(new Error("boom after the writes")),
            )
          : store.commit({ key, op: op.set(i), expectVersion: 0 }),
      ),
    );
    expect(settled.map((s) => s.status)).toEqual(keys.map((_, i) => (i === 3 ? "rejected" : "fulfilled")));
    await store.close();
    const reopened = await openStore({ path });
    for (const [i, key] of keys.entries()) {
      expect(await reopened.read(key)).toMatchObject(
        i === 3 ? { exists: false, version: 0 } : { exists: true, value: i, version: 1 },
      );
    }
    expect((await reopened.events("group/")).filter((e) => e.key === "group/k3")).toEqual([]);
    await reopened.close();
  });
});
