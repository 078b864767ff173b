/**
 * G5 + G3 under `kill -9`: the crash loop (test/process/crash-loop.ts) at CI size. Writers commit with opIds and
 * acknowledge each commit; they are SIGKILLed at random moments and resumed with a retry of their in-flight opId.
 * After every cycle each acknowledged commit is present exactly once, versions form one chain, no opId is applied
 * twice, and `PRAGMA integrity_check` is ok. `npm run stress:crash` runs 1,000 cycles.
 */
import { describe, expect, it } from "vitest";
import { runCrashLoop } from "./crash-loop.js";

const CYCLES = Number(process.env.FENCED_CRASH_CYCLES ?? 50);

describe("G5 durability and G3 idempotency under kill -9", () => {
  for (const [durability, cycles] of [["normal", CYCLES], ["full", Math.ceil(CYCLES / 2)]] as const) {
    it(`loses no acknowledged commit and applies no opId twice over ${cycles} SIGKILL cycles × 2 writers (durability ${durability})`, async () => {
      const report = await runCrashLoop({ cycles, writers: 2, durability });
      expect(report.problems).toEqual([]);
      expect(report.lost).toBe(0);
      expect(report.doubleApplied).toBe(0);
      expect(report.acknowledged).toBeGreaterThan(cycles);
    }, 600_000);
  }
});
