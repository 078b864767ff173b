/** The README's commands and examples run as written, so they cannot rot. */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { tempDir } from "../support/backends.js";
import { ROOT } from "../support/processes.js";

const tmp = tempDir();
afterAll(() => tmp.remove());
const tsx = (args: string[]) =>
  execFileSync(process.execPath, ["--import", "tsx", ...args], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

describe("fenced demo", () => {
  it("shows the lost update and the zombie write without fencing, and prevents both with it (G1, G2)", () => {
    const out = tsx(["src/cli/main.ts", "demo", "--path", join(tmp.dir, "demo.db"), "--increments", "7"]);
    expect(out).toContain("without fencing: expected 14, got 7 — 7 updates lost, no error raised.");
    expect(out).toContain('B gets VERSION_CONFLICT (retryable: true) {"key":"demo/counter","expectedVersion":0,"actualVersion":1}');
    expect(out).toContain("expected 14, got 14.");
    expect(out).toContain(`without fencing: A wakes and writes; the report is now "draft + A's stale edit" — B's work is gone.`);
    expect(out).toContain('FENCED (retryable: false) {"key":"demo/report","heldEpoch":1,"currentEpoch":2,"reason":"superseded"}');
    expect(out).toContain(`the report is "B's final report".`);
    // G7: the official SqliteSaver loses one of two concurrent invokes; ours rejects it, and the retry helper fixes it.
    expect(out).toContain('official SqliteSaver: count = 1, both invokes "succeeded" — one update lost, no error raised.');
    expect(out).toContain("FencedCheckpointSaver: count = 1, the losing invoke raised VersionConflictError (VERSION_CONFLICT, retryable: true).");
    expect(out).toContain("FencedCheckpointSaver + invokeWithRetry: the loser re-ran from the new head; count = 2.");
  });

  it("prints the same output on every run", () => {
    const path = join(tmp.dir, "again.db");
    expect(tsx(["src/cli/main.ts", "demo", "--path", path])).toBe(tsx(["src/cli/main.ts", "demo", "--path", path]));
  });

  it("has help for the CLI and for the command, and rejects a bad option with exit code 2", () => {
    expect(tsx(["src/cli/main.ts", "--help"])).toContain("demo");
    expect(tsx(["src/cli/main.ts", "demo", "--help"])).toContain("--increments N");
    expect(() => tsx(["src/cli/main.ts", "demo", "--increments", "zero"])).toThrow(expect.objectContaining({ status: 2 }));
    expect(() => tsx(["src/cli/main.ts", "nope"])).toThrow(expect.objectContaining({ status: 2 }));
  });
});

describe("examples/core-basics", () => {
  it("runs offline and shows each guarantee", () => {
    const out = tsx(["examples/core-basics/main.ts"]);
    expect(out).toContain("stale writer: VERSION_CONFLICT");
    expect(out).toContain("notes after 3 concurrent updates: [ 'kickoff', 'alice', 'bob', 'carol' ]");
    expect(out).toContain("count: 6");
    expect(out).toContain("zombie write: FENCED superseded (epoch 1 < 2)");
    expect(out).toContain("retry replayed: true same version: true count: 16");
  });
});
