/**
 * The one claim-and-run helper (src/core/run-claim.ts), on every backend: reject, enqueue with its one waiting rule,
 * interrupt with the older run's signal aborting and its commits FENCED, several keys, bad input. The LangGraph run
 * claims (test/langgraph/runs.test.ts) and the OpenAI Agents adapter (test/openai-agents) are this function.
 */
import { afterAll, describe, expect, it } from "vitest";
import {
  ClaimHeldError,
  FencedError,
  claimAndRun,
  isErrorCode,
  op,
  type HeldRun,
  type StateStore,
} from "../../src/index.js";
import { backendFixtures } from "../support/backends.js";

/** A promise and its resolver, to hold a run open until the test lets it go. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/** Starts a run that holds `keys` until released; resolves `started` with the run once it holds them. */
function holder(
  store: StateStore,
  keys: string[],
  owner: string,
  onBusy: "reject" | "enqueue" | "interrupt" = "reject",
) {
  const release = gate();
  let started!: (run: HeldRun) => void;
  const running = new Promise<HeldRun>((resolve) => (started = resolve));
  const done = claimAndRun(store, { owner, keys, onBusy, ttlMs: 5_000 }, async (run) => {
    started(run);
    await release.opened;
    return run;
  });
  return { running, done, release: release.open };
}

for (const fixture of backendFixtures()) {
  describe(`claimAndRun on ${fixture.name}`, () => {
    afterAll(() => fixture.cleanup());

    it("reject: a second run gets CLAIM_HELD and does not run; the first finishes and releases", async () => {
      const store = await fixture.open();
      const first = holder(store, ["job"], "a");
      await first.running;
      let ran = false;
      await expect(claimAndRun(store, { owner: "b", keys: ["job"] }, async () => (ran = true))).rejects.toBeInstanceOf(
        ClaimHeldError,
      );
      expect(ran).toBe(false);
      first.release();
      await first.done;
      expect(await store.currentClaim("job")).toBeNull();
      await store.close();
    });

    it("enqueue: the second run waits for the first, then runs with a newer epoch", async () => {
      const store = await fixture.open();
      const first = holder(store, ["job"], "a");
      const firstRun = await first.running;
      const order: string[] = [];
      const second = claimAndRun(
        store,
        { owner: "b", keys: ["job"], onBusy: "enqueue", waitMs: 10_000 },
        async (run) => {
          order.push("b");
          return run.epochs.job;
        },
      );
      await new Promise((r) => setTimeout(r, 50));
      order.push("a done");
      first.release();
      await first.done;
      expect(await second).toBeGreaterThan(firstRun.epochs.job!);
      expect(order).toEqual(["a done", "b"]);
      await store.close();
    });

    it("enqueue gives up with CLAIM_HELD once waitMs has passed, and never retries an error of the run itself", async () => {
      const store = await fixture.open();
      const first = holder(store, ["job"], "a");
      await first.running;
      await expect(
        claimAndRun(store, { owner: "b", keys: ["job"], onBusy: "enqueue", waitMs: 60 }, async () => 1),
      ).rejects.toBeInstanceOf(ClaimHeldError);
      first.release();
      await first.done;
      let calls = 0;
      const boom = claimAndRun(store, { owner: "c", keys: ["job"], onBusy: "enqueue" }, async () => {
        calls++;
        throw new ClaimHeldError({ key: "elsewhere", owner: "x", expiresAt: 0 });
      });
      await expect(boom).rejects.toBeInstanceOf(ClaimHeldError);
      expect(calls).toBe(1);
      await store.close();
    });

    it("interrupt: the newer run takes the keys, the older run's signal aborts with FENCED and its commits are refused", async () => {
      const store = await fixture.open();
      const first = holder(store, ["job"], "a");
      const old = await first.running;
      await claimAndRun(store, { owner: "b", keys: ["job"], onBusy: "interrupt" }, async (run) => {
        await store.commit({ key: "job", op: op.set("b's"), epoch: run.epochs.job!, owner: "b" });
        await expect.poll(() => old.signal.aborted).toBe(true);
        expect(old.signal.reason).toBeInstanceOf(FencedError);
        const zombie = store.commit({ key: "job", op: op.set("a's"), epoch: old.epochs.job!, owner: "a" });
        await expect(zombie).rejects.toBeInstanceOf(FencedError);
      });
      first.release();
      await first.done;
      expect((await store.read("job")).value).toBe("b's");
      await store.close();
    });

    it("holds several keys in key order with one epoch each, and releases all of them", async () => {
      const store = await fixture.open();
      const epochs = await claimAndRun(store, { owner: "a", keys: ["k/2", "k/1", "k/2"] }, async (run) => {
        expect(run.claims.map((c) => c.key)).toEqual(["k/1", "k/2"]);
        return run.epochs;
      });
      expect(Object.keys(epochs).sort()).toEqual(["k/1", "k/2"]);
      expect(epochs["k/1"]).not.toBe(epochs["k/2"]);
      expect(await store.currentClaim("k/1")).toBeNull();
      expect(await store.currentClaim("k/2")).toBeNull();
      await store.close();
    });

    it("bad options are INVALID_INPUT and claim nothing", async () => {
      const store = await fixture.open();
      const bad: unknown[] = [
        { owner: "", keys: ["k"] },
        { owner: "a", keys: ["k"], onBusy: "rollforward" },
        { owner: "a", keys: ["k"], ttlMs: 0 },
        { owner: "a", keys: ["k"], waitMs: -1 },
        { owner: "a", keys: [""] },
        { owner: "a", keys: ["k"], extra: true },
      ];
      for (const options of bad) {
        const err = await claimAndRun(store, options as never, async () => 1).catch((e: unknown) => e);
        expect(isErrorCode(err, "INVALID_INPUT"), JSON.stringify(options)).toBe(true);
      }
      expect(await store.currentClaim("k")).toBeNull();
      await store.close();
    });
  });
}
