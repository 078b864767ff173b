/** examples/snapshot-reads runs as written: the torn pair one key at a time, none with readMany, a stale plan refused. */
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { ROOT } from "../support/processes.js";

describe("examples/snapshot-reads", () => {
  it("reads two keys at one snapshot, commits from it under guards, and refuses a plan from a snapshot that moved", () => {
    const out = execFileSync(process.execPath, ["--import", "tsx", "examples/snapshot-reads/main.ts"], {
      cwd: ROOT,
      encoding: "utf8",
    });
    expect(out).toContain("one key at a time: available=100 (v1), reserved=30 (v2): total 130 — a torn pair");
    expect(out).toContain("readMany at seq 4: available=70 (v2), reserved=30 (v2): total 100");
    expect(out).toContain('listSnapshot("budget/") at seq 4: budget/available=70, budget/reserved=30');
    expect(out).toContain("planner commits plans/q3 from seq 4, guarded by both versions: committed at seq 5");
    expect(out).toContain("a plan from seq 4 after another move: VERSION_CONFLICT on budget/available, v2 is now v3");
    expect(out).toMatch(/\d+ snapshots taken during 100 concurrent moves: 0 torn/);
  });
});
