/**
 * The effect fence's rules beyond the happy paths (src/core/effects.ts, docs/effects.md), on every backend: who fired
 * is recorded, an attempt's outcome cannot be overwritten by another attempt's, the failure of an effect is recorded
 * with its code and a bounded message, a guard that fails is the answer even when another racer recorded an intent
 * meanwhile (unseen), and every refusal names its field.
 */
import { afterAll, describe, expect, it } from "vitest";
import { FencedError, beginEffect, finishEffect, op, type StateStore } from "../../src/index.js";
import { backendFixtures } from "../support/backends.js";

/** Makes the store's next read of `key` answer "absent", as a read made before another racer's intent landed would. */
function staleReadOnce(store: StateStore, key: string): void {
  const read = store.read.bind(store);
  let stale = true;
  store.read = async (k) =>
    stale && k === key ? ((stale = false), { key: k, exists: false, version: 0, epoch: 0 }) : read(k);
}

for (const fixture of backendFixtures()) {
  describe(`effect rules on ${fixture.name}`, () => {
    afterAll(() => fixture.cleanup());

    it("records who fired in the record and on both commits' events; nobody named, no owner anywhere", async () => {
      const store = await fixture.open();
      const named = await store.effect({ opId: "own/1", owner: "mailer", run: () => "sent" });
      expect(named).toMatchObject({ fired: true, record: { owner: "mailer", status: "done" } });
      expect((await store.events("effects/own/1")).map((e) => e.owner)).toEqual(["mailer", "mailer"]);
      const anonymous = await store.effect({ opId: "own/2", run: () => "sent" });
      expect(anonymous.fired && anonymous.record).not.toHaveProperty("owner");
      expect((await store.read("effects/own/2")).value).not.toHaveProperty("owner");
      expect((await store.events("effects/own/2")).map((e) => e.owner)).toEqual([undefined, undefined]);
      await store.close();
    });

    it("a resent intent with the attemptId of a finished attempt does not proceed: the record's status answers", async () => {
      const store = await fixture.open();
      await store.effect({ opId: "att/1", attemptId: "a-1", run: () => 1 });
      await expect(beginEffect(store, { opId: "att/1", attemptId: "a-1" })).resolves.toMatchObject({
        proceed: false,
        status: "done",
      });
      await store.close();
    });

    it("an outcome for another attempt than the pending one, or another status for a finished one, is VERSION_CONFLICT", async () => {
      const store = await fixture.open();
      await beginEffect(store, { opId: "late/1" });
      const second = await beginEffect(store, { opId: "late/1", refire: ["unknown"] });
      expect(second).toMatchObject({ proceed: true, attempt: 2 });
      // Attempt 1 comes back late while attempt 2 is still pending: it must not overwrite attempt 2's intent.
      const late = finishEffect(store, { opId: "late/1", attempt: 1, status: "done" });
      await expect(late).rejects.toMatchObject({
        code: "VERSION_CONFLICT",
        details: {
          key: "effects/late/1",
          expectedVersion: null,
          actualVersion: second.version,
          attempt: 2,
          status: "pending",
        },
      });
      const done = await finishEffect(store, { opId: "late/1", attempt: 2, status: "done" });
      await expect(
        finishEffect(store, { opId: "late/1", attempt: 2, status: "failed", error: { message: "x" } }),
      ).rejects.toMatchObject({
        code: "VERSION_CONFLICT",
        details: { attempt: 2, status: "done" },
      });
      expect((await store.read("effects/late/1")).version).toBe(done.version);
      await store.close();
    });

    it("an outcome with no intent recorded is INVALID_INPUT at opId, naming the record key", async () => {
      const store = await fixture.open();
      await expect(finishEffect(store, { opId: "none/1", attempt: 1, status: "done" })).rejects.toMatchObject({
        code: "INVALID_INPUT",
        details: { issues: [{ path: ["opId"], message: "no intent is recorded at effects/none/1" }] },
      });
      await store.close();
    });

    it("records a failed effect's code when it threw a fenced-state error, and at most 4,096 characters of its message", async () => {
      const store = await fixture.open();
      const fenced = new FencedError({ key: "jobs/1", heldEpoch: 1, currentEpoch: 2, reason: "superseded" });
      await expect(store.effect({ opId: "fail/1", run: () => Promise.reject(fenced) })).rejects.toBe(fenced);
      expect((await store.read("effects/fail/1")).value).toMatchObject({
        status: "failed",
        error: { message: fenced.message, code: "FENCED" },
      });
      const long = new Error("e".repeat(5000));
      await expect(store.effect({ opId: "fail/2", run: () => Promise.reject(long) })).rejects.toBe(long);
      const record = (await store.read("effects/fail/2")).value as { status: string; error: { message: string } };
      expect(record.status).toBe("failed");
      expect(record.error).toEqual({ message: "e".repeat(4096) });
      await expect(store.effect({ opId: "fail/3", run: () => Promise.reject("not an Error") })).rejects.toBe(
        "not an Error",
      );
      expect((await store.read("effects/fail/3")).value).toMatchObject({ error: { message: "not an Error" } });
      await store.close();
    });

    it("a guard that fails is the answer when a racer's intent landed unseen and its opId record was purged", async () => {
      let now = 1_000_000;
      const store = await fixture.open({ retention: { idempotencyMs: 1 }, clock: () => now });
      await store.commit({ key: "approvals/r", op: op.set("yes") });
      await store.commit({ key: "approvals/r", op: op.set("no") });
      await beginEffect(store, { opId: "race/g" }); // the other racer's intent
      now += 1_000;
      await store.purge(); // its opId record is gone: only the record key's version tells of it
      staleReadOnce(store, "effects/race/g"); // this caller read before that intent landed
      let fired = 0;
      const guarded = store.effect({
        opId: "race/g",
        guards: [{ key: "approvals/r", version: 1 }],
        run: () => ++fired,
      });
      await expect(guarded).rejects.toMatchObject({
        code: "VERSION_CONFLICT",
        details: { key: "approvals/r", expectedVersion: 1 },
      });
      expect(fired).toBe(0);
      await store.close();
    });

    it("refuses a deleted record, a record key holding something else, and a missing run, naming the field", async () => {
      const store = await fixture.open();
      await store.effect({ opId: "del/1", run: () => 1 });
      await store.commit({ key: "effects/del/1", op: op.delete() });
      await expect(store.effect({ opId: "del/1", run: () => 1 })).rejects.toMatchObject({
        code: "INVALID_INPUT",
        details: { issues: [{ path: ["key"], message: "effect record effects/del/1 was deleted; use a new opId" }] },
      });
      await store.commit({ key: "effects/other/1", op: op.set(5) });
      await expect(store.effect({ opId: "other/1", run: () => 1 })).rejects.toMatchObject({
        details: { issues: [{ path: ["key"], message: "effects/other/1 holds a value that is not an effect record" }] },
      });
      await expect(store.effect({ opId: "norun/1" } as never)).rejects.toMatchObject({
        details: { issues: [{ path: ["run"], message: "run must be a function" }] },
      });
      await store.close();
    });

    it("names the record key's problem at opId when it is derived from the opId, at key when given", async () => {
      const store = await fixture.open({ limits: { maxKeyLength: 16 } });
      await expect(beginEffect(store, { opId: "a//b" })).rejects.toMatchObject({
        details: {
          issues: [{ path: ["opId"], message: "the record key effects/a//b: key must not have empty segments" }],
        },
      });
      await expect(beginEffect(store, { opId: "ok", key: "/bad" })).rejects.toMatchObject({
        details: { issues: [{ path: ["key"], message: "key must not have empty segments" }] },
      });
      await expect(beginEffect(store, { opId: "twelve-chars" })).rejects.toMatchObject({
        details: { issues: [{ path: ["opId"], message: "key longer than 16 characters" }] },
      });
      await expect(beginEffect(store, { opId: "ok", key: "k".repeat(17) })).rejects.toMatchObject({
        details: { issues: [{ path: ["key"], message: "key longer than 16 characters" }] },
      });
      expect(await store.events("", { fromSeq: 1 })).toEqual([]);
      await store.close();
    });
  });
}
