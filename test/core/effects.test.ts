/**
 * The effect fence (docs/effects.md) on every backend: an effect fires only if its guards hold when its intent is
 * recorded, at most once per opId, and an intent without an outcome is reported as unknown, never fired again
 * unless asked. Two real processes racing one opId: exactly one fires.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { beginEffect, finishEffect, op, openStore, type Json } from "../../src/index.js";
import {
  backendFixtures,
  dropTestSchemas,
  postgresUrl,
  selectedBackends,
  tempDir,
  testSchemaName,
} from "../support/backends.js";
import { spawnWorker } from "../support/processes.js";

function counter() {
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    run: async (): Promise<Json> => {
      calls++;
      return { sent: calls };
    },
  };
}

for (const fixture of backendFixtures()) {
  describe(`effect fence on ${fixture.name}`, () => {
    afterAll(() => fixture.cleanup());
    const open = () => fixture.open();

    it("fires once, records done with the result, and a retry with the same opId returns it without firing", async () => {
      const store = await open();
      await store.commit({ key: "approvals/1", op: op.set({ approved: true }) });
      const read = await store.read("approvals/1");
      const effect = counter();
      const request = { opId: "email/1", guards: [{ key: "approvals/1", version: read.version }], run: effect.run };
      const first = await store.effect(request);
      expect(first).toMatchObject({
        fired: true,
        status: "done",
        result: { sent: 1 },
        record: { status: "done", attempt: 1 },
      });
      const again = await store.effect(request);
      expect(again).toMatchObject({ fired: false, status: "done", previous: { status: "done", result: { sent: 1 } } });
      expect(effect.calls).toBe(1);
      const events = await store.events("effects/");
      expect(events.map((e) => [e.opId, e.outcome])).toEqual([
        ["email/1/intent/1", "committed"],
        ["email/1/outcome/1", "committed"],
      ]);
    });

    it("returns the recorded outcome on a retry even when the guards no longer hold", async () => {
      const store = await open();
      const claim = await store.claim({ key: "jobs/2", owner: "w1", ttlMs: 60_000 });
      const effect = counter();
      const request = { opId: "hook/2", guards: [{ key: "jobs/2", epoch: claim.epoch }], run: effect.run };
      await store.effect(request);
      await store.release(claim);
      await expect(store.effect(request)).resolves.toMatchObject({ fired: false, status: "done" });
      expect(effect.calls).toBe(1);
    });

    it("refuses with VERSION_CONFLICT, fires nothing and records nothing when a guarded key moved", async () => {
      const store = await open();
      await store.commit({ key: "approvals/3", op: op.set({ approved: true }) });
      const read = await store.read("approvals/3");
      await store.commit({ key: "approvals/3", op: op.set({ approved: false }) });
      const effect = counter();
      await expect(
        store.effect({ opId: "email/3", guards: [{ key: "approvals/3", version: read.version }], run: effect.run }),
      ).rejects.toMatchObject({
        code: "VERSION_CONFLICT",
        details: { key: "approvals/3", expectedVersion: 1, actualVersion: 2 },
      });
      expect(effect.calls).toBe(0);
      expect(await store.read("effects/email/3")).toMatchObject({ exists: false, version: 0 });
      const events = await store.events("approvals/3");
      expect(events.at(-1)).toMatchObject({ outcome: "conflict", opId: "email/3/intent/1" });
    });

    it("refuses a zombie whose claim was stolen with FENCED and fires nothing", async () => {
      const store = await open();
      const zombie = await store.claim({ key: "jobs/4", owner: "zombie", ttlMs: 60_000 });
      await store.claim({ key: "jobs/4", owner: "thief", ttlMs: 60_000, steal: true });
      const effect = counter();
      await expect(
        store.effect({
          opId: "pay/4",
          guards: [{ key: "jobs/4", epoch: zombie.epoch }],
          owner: "zombie",
          run: effect.run,
        }),
      ).rejects.toMatchObject({ code: "FENCED", details: { key: "jobs/4", reason: "superseded" } });
      expect(effect.calls).toBe(0);
      expect(await store.read("effects/pay/4")).toMatchObject({ exists: false, version: 0 });
    });

    it("reports an intent without an outcome as unknown and does not fire again unless refire names it", async () => {
      const store = await open();
      // A crash between the intent and the outcome: the intent is recorded, the effect may or may not have happened.
      const crashed = await beginEffect(store, { opId: "sms/5" });
      expect(crashed).toMatchObject({ proceed: true, attempt: 1 });
      const effect = counter();
      await expect(store.effect({ opId: "sms/5", run: effect.run })).resolves.toMatchObject({
        fired: false,
        status: "unknown",
        previous: { status: "pending", attempt: 1 },
      });
      expect(effect.calls).toBe(0);
      const refired = await store.effect({ opId: "sms/5", refire: ["unknown"], run: effect.run });
      expect(refired).toMatchObject({ fired: true, record: { attempt: 2, status: "done" } });
      expect(effect.calls).toBe(1);
      // The crashed attempt's late outcome lost to attempt 2: it cannot overwrite it.
      await expect(finishEffect(store, { opId: "sms/5", attempt: 1, status: "done" })).rejects.toMatchObject({
        code: "VERSION_CONFLICT",
      });
      await expect(store.effect({ opId: "sms/5", refire: ["unknown"], run: effect.run })).resolves.toMatchObject({
        fired: false,
        status: "done",
      });
    });

    it("records failed and rethrows when the effect throws; a retry reports failed unless refire names it", async () => {
      const store = await open();
      const boom = new Error("smtp down");
      await expect(store.effect({ opId: "mail/6", run: () => Promise.reject(boom) })).rejects.toBe(boom);
      await expect(store.effect({ opId: "mail/6", run: () => 1 })).resolves.toMatchObject({
        fired: false,
        status: "failed",
        previous: { status: "failed", error: { message: "smtp down" } },
      });
      await expect(store.effect({ opId: "mail/6", refire: ["failed"], run: () => 1 })).resolves.toMatchObject({
        fired: true,
        result: 1,
      });
    });

    it("fires exactly once when many callers race the same opId", async () => {
      const store = await open();
      const effect = counter();
      const results = await Promise.all(
        Array.from({ length: 8 }, () => store.effect({ opId: "race/7", run: effect.run })),
      );
      expect(effect.calls).toBe(1);
      expect(results.filter((r) => r.fired)).toHaveLength(1);
      for (const r of results.filter((x) => !x.fired)) expect(["unknown", "done"]).toContain(r.status);
    });

    it("a racer that read before another's intent landed does not fire, even after the idempotency record is purged", async () => {
      // The shortest retention there is (0 is INVALID_INPUT), and a clock moved past it before the purge.
      let now = Date.now();
      const store = await fixture.open({ retention: { idempotencyMs: 1 }, clock: () => now });
      await beginEffect(store, { opId: "late/10" });
      now += 1_000;
      await store.purge();
      // The racer's read happened before the intent above: it saw no record.
      const read = store.read.bind(store);
      let stale = true;
      store.read = async (key) =>
        stale && key === "effects/late/10"
          ? ((stale = false), { key, exists: false, version: 0, epoch: 0 })
          : read(key);
      const effect = counter();
      await expect(store.effect({ opId: "late/10", run: effect.run })).resolves.toMatchObject({
        fired: false,
        status: "unknown",
      });
      expect(effect.calls).toBe(0);
    });

    it("a resent intent with the same attemptId (its answer was lost) proceeds; another attempt is told unknown", async () => {
      const store = await open();
      const first = await beginEffect(store, { opId: "resend/11", attemptId: "a-1" });
      await expect(beginEffect(store, { opId: "resend/11", attemptId: "a-1" })).resolves.toEqual(first);
      await expect(beginEffect(store, { opId: "resend/11", attemptId: "a-2" })).resolves.toMatchObject({
        proceed: false,
        status: "unknown",
      });
      await expect(beginEffect(store, { opId: "resend/11" })).resolves.toMatchObject({
        proceed: false,
        status: "unknown",
      });
    });

    it("the same opId under another record key is IDEMPOTENCY_MISMATCH, not a retry loop", {
      timeout: 10_000,
    }, async () => {
      const store = await open();
      await beginEffect(store, { opId: "dup/12", key: "mine/12" });
      await expect(beginEffect(store, { opId: "dup/12", key: "other/12" })).rejects.toMatchObject({
        code: "IDEMPOTENCY_MISMATCH",
      });
      expect(await store.read("other/12")).toMatchObject({ exists: false, version: 0 });
    });

    it("a retried outcome answers with the stored record", async () => {
      const store = await open();
      const intent = await beginEffect(store, { opId: "x/8" });
      const outcome = { opId: "x/8", attempt: 1, status: "done" as const, result: "ok" };
      const first = await finishEffect(store, outcome);
      await expect(finishEffect(store, outcome)).resolves.toEqual(first);
      expect(intent.proceed && first.version === intent.version + 1).toBe(true);
    });

    it("keeps the outcome when the result is over the value limit", async () => {
      const store = await fixture.open({ limits: { maxValueBytes: 2048 } });
      const r = await store.effect({ opId: "big/9", run: () => "x".repeat(4096) });
      expect(r).toMatchObject({ fired: true, record: { status: "done" } });
      expect((await store.read("effects/big/9")).value).toMatchObject({
        status: "done",
        resultOmitted: expect.stringContaining("exceeds"),
      });
    });

    it("records the outcome without a result that is not JSON, and returns the result to the caller", async () => {
      const store = await open();
      const when = new Date(0);
      const r = await store.effect({ opId: "date/13", run: () => when as unknown as Json });
      expect(r).toMatchObject({ fired: true, result: when });
      const stored = (await store.read("effects/date/13")).value as Record<string, unknown>;
      expect(stored).toMatchObject({ status: "done" });
      expect(stored).not.toHaveProperty("result");
    });

    it("rejects bad input with INVALID_INPUT and changes nothing", async () => {
      const store = await open();
      const run = () => 1;
      const bad: unknown[] = [
        { opId: "", run },
        { opId: "a//b", run },
        { opId: "ok", guards: [{ key: "k" }], run },
        { opId: "ok", guards: [{ key: "k", epoch: 1, version: 1 }], run },
        { opId: "ok", refire: ["always"], run },
        { opId: "ok", extra: true, run },
        { opId: "ok", key: "/bad", run },
        { opId: "ok" },
      ];
      for (const request of bad) {
        await expect(store.effect(request as never)).rejects.toMatchObject({ code: "INVALID_INPUT" });
      }
      // A guard key over the store's limit is refused even when the record would answer the retry (found by fuzzing).
      const long = "k".repeat(store.limits.maxKeyLength + 1);
      for (const opId of ["fresh", "done-already"]) {
        if (opId === "done-already") await beginEffect(store, { opId });
        await expect(beginEffect(store, { opId, guards: [{ key: long, version: 0 }] })).rejects.toMatchObject({
          code: "INVALID_INPUT",
          details: { issues: [{ path: ["guards", 0, "key"] }] },
        });
      }
      await expect(finishEffect(store, { opId: "never", attempt: 1, status: "done" })).rejects.toMatchObject({
        code: "INVALID_INPUT",
      });
      expect((await store.events("")).map((e) => e.key)).toEqual(["effects/done-already"]);
      // A record key written by hand is not an effect record: refused, and left as it is.
      await store.commit({ key: "notes/1", op: op.set("hello") });
      await expect(store.effect({ opId: "n1", key: "notes/1", run })).rejects.toMatchObject({
        code: "INVALID_INPUT",
        details: { issues: [{ path: ["key"] }] },
      });
      await expect(
        finishEffect(store, { opId: "n1", key: "notes/1", attempt: 1, status: "done" }),
      ).rejects.toMatchObject({ code: "INVALID_INPUT" });
      expect(await store.read("notes/1")).toMatchObject({ version: 1, value: "hello" });
    });
  });
}

/** The backends whose data two processes can share (memory cannot), among those selected for this run. */
const racers = ["sqlite", "postgres"].filter((n) => (selectedBackends() as string[]).includes(n));

if (racers.length > 0) {
  describe("effect fence across processes", () => {
    const tmp = tempDir();
    const schemas: string[] = [];
    afterAll(async () => {
      tmp.remove();
      if (schemas.length > 0) await dropTestSchemas(postgresUrl(), schemas);
    });

    const targets: Record<string, () => string[]> = {
      sqlite: () => ["--db", join(tmp.dir, "race.db")],
      postgres: () => ["--url", postgresUrl(), "--schema", (schemas.push(testSchemaName()), schemas.at(-1)!)],
    };

    for (const name of racers) {
      it(`two processes racing one opId on ${name}: exactly one fires, the other reports it`, async () => {
        const target = { args: targets[name]!() };
        // Create the tables once, so the racers race the effect and not the schema migration.
        const [flag, where, , schema] = target.args;
        await (await openStore(flag === "--db" ? { path: where! } : { url: where!, schema: schema! })).close();
        const fired = join(tmp.dir, `${name}-fired.log`);
        writeFileSync(fired, "");
        for (let round = 0; round < 3; round++) {
          const workers = [0, 1].map(() =>
            spawnWorker("test/core/effect-race-worker.ts", [
              ...target.args,
              "--op-id",
              `race/${round}`,
              "--log",
              fired,
            ]),
          );
          const lines = await Promise.all(workers.map((w) => w.nextJson<{ fired: boolean; status?: string }>()));
          const exits = await Promise.all(workers.map((w) => w.exited));
          expect(
            exits.map((e) => e.code),
            exits.map((e) => e.stderr).join("\n"),
          ).toEqual([0, 0]);
          expect(lines.filter((l) => l.fired)).toHaveLength(1);
        }
        const log = readFileSync(fired, "utf8").trim().split("\n");
        expect(log.sort()).toEqual(["race/0", "race/1", "race/2"]);
      });
    }
  });
}
