/**
 * examples/work-queue and examples/memory-curator run as written, with real worker processes, SIGKILL and SIGSTOP,
 * and their last lines — computed from the store, not from the workers — show nothing lost, nothing done twice, and
 * the zombies fenced.
 */
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { ROOT } from "../support/processes.js";

const tsx = (args: string[]) =>
  execFileSync(process.execPath, ["--import", "tsx", ...args], {
    cwd: ROOT,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 170_000,
  });
const lastLine = (out: string) => out.trim().split("\n").at(-1)!;

describe("examples/work-queue", () => {
  it("completes every task exactly once across killed and stopped workers, and fences the zombie's completion (G2)", () => {
    const out = tsx(["examples/work-queue/main.ts", "--tasks", "30", "--workers", "3"]);
    expect(out).toMatch(/SIGKILL worker-\d+ while it works on task \d+/);
    expect(out).toMatch(/worker-\d+ woke up and tried to complete task \d+: FENCED/);
    expect(out).toContain("sum of the completed payloads, written in each completion's txn: 465 (expected 465)");
    const m =
      /^tasks: (\d+) enqueued, (\d+) completed exactly once, (\d+) lost, (\d+) completed twice, (\d+) zombie completions fenced$/.exec(
        lastLine(out),
      );
    expect(m, out).not.toBeNull();
    const [, enqueued, once, lost, twice, fenced] = m!.map(Number);
    expect({ enqueued, once, lost, twice }).toEqual({ enqueued: 30, once: 30, lost: 0, twice: 0 });
    expect(fenced).toBeGreaterThanOrEqual(1);
  }, 180_000);
});

describe("examples/memory-curator", () => {
  it("stores every emitted memory once across a killed emitter, a killed curator and a fenced zombie curator", () => {
    const out = tsx(["examples/memory-curator/main.ts"]);
    expect(out).toContain("SIGKILL curator-1 in the middle of a batch");
    expect(out).toMatch(/curator-2 woke up and committed its batch: FENCED \(superseded\); nothing of it landed/);
    expect(out).toMatch(/; 1 zombie curator batch fenced/);
    const m = /^memories: (\d+) emitted, (\d+) stored once, (\d+) lost, (\d+) duplicated$/.exec(lastLine(out));
    expect(m, out).not.toBeNull();
    const [, emitted, once, lost, duplicated] = m!.map(Number);
    // 3 workers × 16 facts, and 4 shared facts that every worker emits.
    expect({ emitted, once, lost, duplicated }).toEqual({ emitted: 52, once: 52, lost: 0, duplicated: 0 });
  }, 180_000);
});
