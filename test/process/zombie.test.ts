/**
 * G2 with real processes and real stalls: a claim holder is SIGSTOPped, its key is reclaimed, it is SIGCONTed and
 * writes what it computed before the stall. The write must be FENCED, and the reclaimer's state must survive.
 */
import { afterAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { op, openStore } from "../../src/index.js";
import { tempDir } from "../support/backends.js";
import { spawnWorker } from "../support/processes.js";

const tmp = tempDir();
afterAll(() => tmp.remove());

async function zombieTrial(path: string, key: string, ttlMs: number, reclaim: (key: string) => Promise<number>) {
  const zombie = spawnWorker("test/process/workers/claim-holder.ts", [path, key, String(ttlMs)]);
  const claimed = await zombie.nextJson<{ claimed: number; version: number }>();
  zombie.child.kill("SIGSTOP");
  const newEpoch = await reclaim(key);
  zombie.child.kill("SIGCONT");
  zombie.child.stdin.write("go\n");
  const outcome = await zombie.nextJson<{ outcome: string; details?: Record<string, unknown> }>();
  const exit = await zombie.exited;
  expect(exit, exit.stderr).toMatchObject({ code: 0 });
  return { claimed, outcome, newEpoch };
}

describe("G2 zombie writers in real processes", () => {
  it("fences a SIGSTOPped holder whose key was stolen, even though the version did not move", async () => {
    const path = join(tmp.dir, "zombie.db");
    const store = await openStore({ path });
    await store.commit({ key: "job/1", op: op.set("draft") });
    const { claimed, outcome, newEpoch } = await zombieTrial(path, "job/1", 60_000, async (key) => {
      const c = await store.claim({ key, owner: "rescuer", ttlMs: 60_000, steal: true });
      return c.epoch;
    });
    expect(outcome).toEqual({
      outcome: "FENCED",
      details: { key: "job/1", heldEpoch: claimed.claimed, currentEpoch: newEpoch, reason: "superseded" },
    });
    expect(await store.read("job/1")).toMatchObject({ value: "draft", version: claimed.version });
    await store.close();
  });

  it("fences a SIGSTOPped holder whose lease expired during the stall and was claimed by another", async () => {
    const path = join(tmp.dir, "zombie-expiry.db");
    const store = await openStore({ path });
    const { claimed, outcome } = await zombieTrial(path, "job/2", 300, async (key) => {
      await new Promise((r) => setTimeout(r, 400));
      const c = await store.claim({ key, owner: "rescuer", ttlMs: 60_000 });
      await store.commit({ key, op: op.set("rescued"), epoch: c.epoch });
      return c.epoch;
    });
    expect(outcome).toMatchObject({ outcome: "FENCED", details: { heldEpoch: claimed.claimed, reason: "superseded" } });
    expect(await store.read("job/2")).toMatchObject({ value: "rescued" });
    await store.close();
  });
});

describe("G2 zombie trial runner", () => {
  it("fences every zombie over 40 trials (steal / lease expiry, with and without a rescuer write) under 2 writer processes of load", async () => {
    const { runZombieTrials } = await import("./zombie-trials.js");
    const report = await runZombieTrials(40, { load: 2 });
    expect(report.failures).toEqual([]);
    expect(report.fenced).toBe(40);
    expect(report.modes).toEqual({ steal: 10, "steal-and-write": 10, expire: 10, "expire-and-write": 10 });
  }, 120_000);
});
