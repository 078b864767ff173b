/**
 * G5 + G3 under `kill -9`: the crash loop (test/process/crash-loop.ts) at CI size. Writers commit with opIds and
 * acknowledge each commit; they are SIGKILLed at random moments and resumed with a retry of their in-flight opId.
 * After every cycle each acknowledged commit is present exactly once, versions form one chain, no opId is applied
 * twice, and `PRAGMA integrity_check` is ok. The same ledger runs through a real coordinator (`fenced serve`) with
 * TypeScript and Python HTTP writers, SIGKILLing the coordinator as well (test/process/coordinator-crash-loop.ts).
 * `npm run stress:crash` runs 1,000 cycles of each.
 */
import { describe, expect, it } from "vitest";
import { runCoordinatorCrashLoop } from "./coordinator-crash-loop.js";
import { runCrashLoop } from "./crash-loop.js";

const CYCLES = Number(process.env.FENCED_CRASH_CYCLES ?? 50);
/** About 1.2 s a cycle: a coordinator restart is a Node start. */
const HTTP_CYCLES = Number(process.env.FENCED_CRASH_HTTP_CYCLES ?? 51);

describe("G5 durability and G3 idempotency under kill -9", () => {
  for (const [durability, cycles] of [
    ["normal", CYCLES],
    ["full", Math.ceil(CYCLES / 2)],
  ] as const) {
    it(`loses no acknowledged commit and applies no opId twice over ${cycles} SIGKILL cycles × 2 writers (durability ${durability})`, async () => {
      const report = await runCrashLoop({ cycles, writers: 2, durability });
      console.log(
        `crash loop (durability ${durability}): ${cycles} cycles, ${report.acknowledged} acknowledged commits checked, lost ${report.lost}`,
      );
      expect(report.problems).toEqual([]);
      expect(report.lost).toBe(0);
      expect(report.doubleApplied).toBe(0);
      expect(report.acknowledged).toBeGreaterThan(cycles);
    }, 600_000);
  }
});

describe("G5 durability and G3 idempotency under kill -9 of HTTP clients and of the coordinator", () => {
  it(`loses no acknowledged commit and applies no opId twice over ${HTTP_CYCLES} cycles of SIGKILLed writers, coordinator, or both`, async () => {
    const report = await runCoordinatorCrashLoop({ cycles: HTTP_CYCLES, writers: 2 });
    console.log(
      `crash loop through fenced serve: ${HTTP_CYCLES} cycles, ${report.coordinatorKills} coordinator kills, ${report.acknowledged} acknowledged commits checked (${report.ackedBy.ts} TypeScript, ${report.ackedBy.python} Python), lost ${report.lost}`,
    );
    expect(report.problems).toEqual([]);
    expect(report.lost).toBe(0);
    expect(report.doubleApplied).toBe(0);
    const third = HTTP_CYCLES / 3;
    expect(report.modes).toEqual({
      writers: Math.ceil(third),
      coordinator: Math.round(third),
      both: Math.floor(third),
    });
    expect(report.coordinatorKills).toBe(report.modes.coordinator + report.modes.both);
    // Both clients wrote, and the resend path was taken: requests were cut by a coordinator kill and acknowledged later.
    expect(report.ackedBy.ts).toBeGreaterThan(0);
    expect(report.ackedBy.python).toBeGreaterThan(0);
    expect(report.ackedAfterResend).toBeGreaterThan(0);
  }, 600_000);
});
