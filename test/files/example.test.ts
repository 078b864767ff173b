/** examples/fenced-files runs as written and its one line adds up (issue 20 acceptance). */
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { ROOT } from "../support/processes.js";

describe("examples/fenced-files", () => {
  it("two writer processes, a SIGSTOPped zombie and an outside edit: every write kept, the zombie fenced, the edit adopted", () => {
    const steps = 6;
    const out = execFileSync(
      process.execPath,
      ["--import", "tsx", "examples/fenced-files/main.ts", "--steps", String(steps)],
      {
        cwd: ROOT,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
        timeout: 150_000,
      },
    );
    // The initial plan, each writer's steps and the adoption of the outside edit are the writes.
    expect(out).toBe(`files: ${2 * steps + 2} writes, 0 lost, 1 zombie writes fenced, 1 outside edits detected\n`);
  }, 180_000);
});
