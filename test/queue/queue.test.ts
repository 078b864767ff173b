/**
 * The work queue on every backend (docs/queue.md): enqueue idempotent by opId, FIFO leases, a zombie worker's
 * completion FENCED (G2) with nothing of its txn landing (G4), retries with backoff, dead letters, many workers.
 */
import { afterAll, describe, expect, it } from "vitest";
import { op, type StateStore } from "../../src/index.js";
import { workQueue, type Lease } from "../../src/queue/index.js";
import { backendFixtures } from "../support/backends.js";

for (const fixture of backendFixtures()) {
  describe(`work queue: ${fixture.name}`, () => {
    afterAll(() => fixture.cleanup());
    let clockNow = 1_000_000;
    const open = () => fixture.open({ clock: () => clockNow });

    it("leaves records it did not write under its prefix alone: never leased; only task-shaped keys listed", async () => {
      // Found by the schemathesis fuzz: a plain commit under queues/<name>/ready/ made lease answer a 5xx.
      const store = await open();
      const q = workQueue(store, "foreign");
      await store.commit({ key: "queues/foreign/ready/zz", op: op.set(0) });
      await store.commit({ key: "queues/foreign/ready/0000000000000009", op: op.set({ attempts: "x" }) });
      // Task-shaped but for its retry policy, which a failure's next delay is computed from.
      const shaped = { attempts: 0, maxAttempts: 3, visibleAt: 0, leasedUntil: 0, payload: 1 };
      for (const [i, retry] of [null, [], { baseMs: 10 }].entries()) {
        await store.commit({ key: `queues/foreign/ready/000000000000001${i}`, op: op.set({ ...shaped, retry }) });
      }
      expect(await q.lease({ owner: "w", visibilityMs: 1000 })).toBeNull();
      const { seq } = await q.enqueue({ payload: "real" });
      const lease = await q.lease({ owner: "w", visibilityMs: 1000 });
      expect(lease?.seq).toBe(seq);
      expect((await q.tasks("ready")).map((t) => t.key)).toEqual([
        "queues/foreign/ready/0000000000000001",
        "queues/foreign/ready/0000000000000009",
        "queues/foreign/ready/0000000000000010",
        "queues/foreign/ready/0000000000000011",
        "queues/foreign/ready/0000000000000012",
      ]);
      expect((await store.read("queues/foreign/ready/zz")).value).toBe(0);
      await store.close();
    });

    describe("enqueue", () => {
      it("is idempotent by opId: a retry returns the first seq and writes nothing", async () => {
        const store = await open();
        const q = workQueue(store, "mail");
        const first = await q.enqueue({ to: "a" }, { opId: "welcome-a" });
        const again = await q.enqueue({ to: "a" }, { opId: "welcome-a" });
        expect(first).toMatchObject({ seq: 1, created: true });
        expect(again).toEqual({ ...first, created: false });
        expect(await q.stats()).toEqual({ enqueued: 1, pending: 1, done: 0, dead: 0 });
      });

      it("rejects the same opId with another payload as IDEMPOTENCY_MISMATCH, writing nothing", async () => {
        const store = await open();
        const q = workQueue(store, "mail");
        await q.enqueue({ to: "a" }, { opId: "op-1" });
        await expect(q.enqueue({ to: "b" }, { opId: "op-1" })).rejects.toMatchObject({ code: "IDEMPOTENCY_MISMATCH" });
        expect(await q.stats()).toMatchObject({ enqueued: 1, pending: 1 });
      });

      it("gives concurrent enqueues distinct, gapless seqs; concurrent retries of one opId enqueue it once", async () => {
        const store = await open();
        const q = workQueue(store, "busy");
        const results = await Promise.all([
          ...Array.from({ length: 12 }, (_, i) => q.enqueue(i, { opId: `t${i}` })),
          ...Array.from({ length: 4 }, () => q.enqueue("same", { opId: "dup" })),
        ]);
        const seqs = new Set(results.map((r) => r.seq));
        expect([...seqs].sort((a, b) => a - b)).toEqual(Array.from({ length: 13 }, (_, i) => i + 1));
        expect(results.filter((r) => r.created)).toHaveLength(13);
        expect(await q.stats()).toMatchObject({ enqueued: 13, pending: 13 });
      });

      it("answers bad input with INVALID_INPUT and changes nothing", async () => {
        const store = await open();
        const q = workQueue(store, "mail");
        await expect(q.enqueue(undefined as never)).rejects.toMatchObject({ code: "INVALID_INPUT" });
        await expect(q.enqueue(1, { maxAttempts: 0 })).rejects.toMatchObject({ code: "INVALID_INPUT" });
        await expect(q.lease({ owner: "", visibilityMs: 10 })).rejects.toMatchObject({ code: "INVALID_INPUT" });
        expect(() => workQueue(store, "")).toThrow(expect.objectContaining({ code: "INVALID_INPUT" }));
        expect(await q.stats()).toEqual({ enqueued: 0, pending: 0, done: 0, dead: 0 });
      });
    });

    describe("lease and complete", () => {
      it("hands out tasks in FIFO order, each to one worker at a time", async () => {
        const store = await open();
        const q = workQueue(store, "fifo");
        for (let i = 1; i <= 4; i++) await q.enqueue(`task ${i}`);
        const leases = [];
        for (const w of ["w1", "w2", "w3", "w4", "w5"]) leases.push(await q.lease({ owner: w, visibilityMs: 1000 }));
        expect(leases.map((l) => l?.payload ?? null)).toEqual(["task 1", "task 2", "task 3", "task 4", null]);
        expect(leases[0]).toMatchObject({ seq: 1, attempt: 1, owner: "w1", expiresAt: clockNow + 1000 });
      });

      it("completes with a result and state writes in one txn; the task leaves the ready set", async () => {
        const store = await open();
        const q = workQueue(store, "jobs");
        await q.enqueue({ n: 2 });
        const lease = (await q.lease({ owner: "w1", visibilityMs: 1000 }))!;
        const result = await q.complete(lease, { square: 4 }, { writes: [{ key: "results/2", op: op.set(4) }] });
        expect(result.results.map((r) => r.key)).toEqual([lease.key, q.keys.task("done", 1), "results/2"]);
        expect((await store.read("results/2")).value).toBe(4);
        expect(await q.tasks("done")).toEqual([
          {
            seq: 1,
            key: q.keys.task("done", 1),
            value: expect.objectContaining({ result: { square: 4 }, payload: { n: 2 }, owner: "w1", attempts: 1 }),
          },
        ]);
        expect(await q.stats()).toEqual({ enqueued: 1, pending: 0, done: 1, dead: 0 });
        expect(await q.lease({ owner: "w2", visibilityMs: 1000 })).toBeNull();
      });

      it("G2: fences a completion whose lease expired; none of its writes land", async () => {
        const store = await open();
        const q = workQueue(store, "jobs");
        await q.enqueue("x");
        const lease = (await q.lease({ owner: "zombie", visibilityMs: 100 }))!;
        clockNow += 101;
        await expect(
          q.complete(lease, "late", { writes: [{ key: "out/x", op: op.set("late") }] }),
        ).rejects.toMatchObject({
          code: "FENCED",
          details: { key: lease.key, heldEpoch: lease.epoch, reason: "expired" },
        });
        expect((await store.read("out/x")).exists).toBe(false);
        expect(await q.stats()).toMatchObject({ pending: 1, done: 0 });
        await expectFencedEvents(store, lease, 1);
      });

      it("G2: fences a zombie whose task was taken over; the task is done by the holder", async () => {
        const store = await open();
        const q = workQueue(store, "jobs");
        await q.enqueue("x");
        const zombie = (await q.lease({ owner: "zombie", visibilityMs: 100 }))!;
        clockNow += 101;
        const holder = (await q.lease({ owner: "holder", visibilityMs: 1000 }))!;
        expect(holder).toMatchObject({ seq: zombie.seq, attempt: 2 });
        expect(holder.epoch).toBeGreaterThan(zombie.epoch);
        await expect(q.heartbeat(zombie, 1000)).rejects.toMatchObject({ code: "FENCED" });
        await expect(q.complete(zombie, "zombie's")).rejects.toMatchObject({
          code: "FENCED",
          details: { reason: "superseded" },
        });
        await q.complete(holder, "holder's");
        await expect(q.complete(zombie, "zombie's")).rejects.toMatchObject({ code: "FENCED" });
        expect((await q.tasks("done")).map((t) => (t.value as { result: string }).result)).toEqual(["holder's"]);
        await expectFencedEvents(store, zombie, 2);
      });

      it("replays a retried completion of the same lease (G3) instead of failing it", async () => {
        const store = await open();
        const q = workQueue(store, "jobs");
        await q.enqueue("x");
        const lease = (await q.lease({ owner: "w", visibilityMs: 1000 }))!;
        const first = await q.complete(lease, 1, { writes: [{ key: "out", op: op.increment(1) }] });
        clockNow += 5;
        expect(await q.complete(lease, 1, { writes: [{ key: "out", op: op.increment(1) }] })).toEqual({
          ...first,
          replayed: true,
        });
        expect((await store.read("out")).value).toBe(1);
        await expect(q.complete(lease, 2)).rejects.toMatchObject({ code: "IDEMPOTENCY_MISMATCH" });
      });

      it("keeps a heartbeating lease past its first visibility timeout", async () => {
        const store = await open();
        const q = workQueue(store, "jobs");
        await q.enqueue("x");
        const lease = (await q.lease({ owner: "w", visibilityMs: 100 }))!;
        clockNow += 80;
        expect(await q.heartbeat(lease, 100)).toBe(clockNow + 100);
        clockNow += 80;
        expect(await q.lease({ owner: "other", visibilityMs: 100 })).toBeNull();
        await q.complete(lease, "ok");
        expect(await q.stats()).toMatchObject({ done: 1, pending: 0 });
      });

      it("rolls the whole completion back when a state write conflicts; the lease stays usable", async () => {
        const store = await open();
        const q = workQueue(store, "jobs");
        await q.enqueue("x");
        const lease = (await q.lease({ owner: "w", visibilityMs: 1000 }))!;
        await expect(
          q.complete(lease, 1, { writes: [{ key: "s", op: op.set(1), expectVersion: 7 }], opId: "c1" }),
        ).rejects.toMatchObject({
          code: "VERSION_CONFLICT",
        });
        expect(await q.stats()).toMatchObject({ pending: 1, done: 0 });
        await q.complete(lease, 1, { writes: [{ key: "s", op: op.set(1), expectVersion: 0 }] });
        expect(await q.stats()).toMatchObject({ pending: 0, done: 1 });
      });
    });

    describe("fail, retry and dead letters", () => {
      it("makes a failed task visible again after its backoff, doubling per attempt", async () => {
        const store = await open();
        const q = workQueue(store, "retry");
        await q.enqueue("flaky", { retry: { baseMs: 100, maxMs: 1000 } });
        await q.enqueue("next");
        const a = (await q.lease({ owner: "w", visibilityMs: 1000 }))!;
        expect(await q.fail(a, "boom")).toEqual({ status: "retry", visibleAt: clockNow + 100 });
        expect((await q.lease({ owner: "w", visibilityMs: 1000 }))?.payload).toBe("next");
        clockNow += 100;
        const b = (await q.lease({ owner: "w2", visibilityMs: 1000 }))!;
        expect(b).toMatchObject({ payload: "flaky", attempt: 2 });
        expect(await q.fail(b, "boom")).toEqual({ status: "retry", visibleAt: clockNow + 200 });
      });

      it("dead-letters a task after maxAttempts failures", async () => {
        const store = await open();
        const q = workQueue(store, "dlq");
        await q.enqueue("poison", { maxAttempts: 2, retry: { baseMs: 1, maxMs: 1 } });
        await q.fail((await q.lease({ owner: "w", visibilityMs: 1000 }))!, "1");
        clockNow += 1;
        expect(await q.fail((await q.lease({ owner: "w", visibilityMs: 1000 }))!, "2")).toEqual({ status: "dead" });
        expect(await q.tasks("dead")).toEqual([
          {
            seq: 1,
            key: q.keys.task("dead", 1),
            value: expect.objectContaining({ payload: "poison", attempts: 2, lastError: "2" }),
          },
        ]);
        expect(await q.stats()).toEqual({ enqueued: 1, pending: 0, done: 0, dead: 1 });
      });

      it("counts a lease whose worker died, and dead-letters the task when its attempts are used up", async () => {
        const store = await open();
        const q = workQueue(store, "dlq");
        await q.enqueue("kills its workers", { maxAttempts: 2 });
        await q.enqueue("fine");
        for (let i = 0; i < 2; i++) {
          expect((await q.lease({ owner: `w${i}`, visibilityMs: 10 }))?.payload).toBe("kills its workers");
          clockNow += 11; // the worker died: its lease runs out
        }
        expect((await q.lease({ owner: "w9", visibilityMs: 10 }))?.payload).toBe("fine");
        expect(await q.stats()).toMatchObject({ pending: 1, dead: 1 });
      });

      it("fences a zombie's fail like its complete", async () => {
        const store = await open();
        const q = workQueue(store, "retry");
        await q.enqueue("x");
        const lease = (await q.lease({ owner: "w", visibilityMs: 10 }))!;
        clockNow += 11;
        await expect(q.fail(lease, "late")).rejects.toMatchObject({ code: "FENCED" });
        expect((await q.lease({ owner: "w2", visibilityMs: 10 }))?.attempt).toBe(2);
      });
    });

    it("many concurrent workers complete every task exactly once", async () => {
      const store = await open();
      const q = workQueue(store, "many");
      const n = 24;
      for (let i = 0; i < n; i++) await q.enqueue(i, { opId: `t${i}` });
      const done: number[] = [];
      await Promise.all(
        Array.from({ length: 6 }, async (_, w) => {
          for (let lease: Lease | null; (lease = await q.lease({ owner: `w${w}`, visibilityMs: 60_000 })); ) {
            await q.complete(lease, w, {
              writes: [{ key: `out/${String(lease.payload)}`, op: op.set(w), expectVersion: 0 }],
            });
            done.push(lease.payload as number);
          }
        }),
      );
      expect(done.sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
      expect(await q.stats()).toEqual({ enqueued: n, pending: 0, done: n, dead: 0 });
    });
  });
}

/** The core logged each rejected completion: a `fenced` event on the task key, with the completion's opId. */
async function expectFencedEvents(store: StateStore, lease: Lease, n: number): Promise<void> {
  const events = await store.events(lease.key);
  expect(
    events.filter(
      (e) => e.outcome === "fenced" && e.opId === `queue/${lease.queue}/${lease.seq}/complete/${lease.epoch}`,
    ),
  ).toHaveLength(n);
}
