/** The README's commands and examples run as written, so they cannot rot. */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { tempDir } from "../support/backends.js";
import { ROOT } from "../support/processes.js";

const PACKAGE_VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
const tmp = tempDir();
afterAll(() => tmp.remove());
const tsx = (args: string[]) =>
  execFileSync(process.execPath, ["--import", "tsx", ...args], {
    cwd: ROOT,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });

describe("fenced demo", () => {
  it("shows the lost update and the zombie write without fencing, and prevents both with it (G1, G2)", () => {
    const dir = join(tmp.dir, "demo");
    const out = tsx(["src/cli/main.ts", "demo", "--dir", dir, "--increments", "7"]);
    expect(out).toContain(`files in ${dir}/`);
    expect(readdirSync(dir).sort()).toEqual(["official-sqlitesaver.db", "state.db"]);
    expect(out).toContain("without fencing: expected 14, got 7 — 7 updates lost, no error raised.");
    expect(out).toContain(
      'B gets VERSION_CONFLICT (retryable: true) {"key":"demo/counter","expectedVersion":0,"actualVersion":1}',
    );
    expect(out).toContain("expected 14, got 14.");
    expect(out).toContain(
      `without fencing: A wakes and writes; the report is now "draft + A's stale edit" — B's work is gone.`,
    );
    // Each word part 2 relies on is explained in one line.
    expect(out).toMatch(/^ {3}- a claim is a lease on a key/m);
    expect(out).toMatch(/^ {3}- every claim and takeover bumps the key's epoch/m);
    expect(out).toMatch(/^ {3}- FENCED: the commit's epoch is older than the key's/m);
    expect(out).toContain(
      'FENCED (retryable: false) {"key":"demo/report","heldEpoch":1,"currentEpoch":2,"reason":"superseded"}',
    );
    expect(out).toContain(`the report is "B's final report".`);
    // G7: the official SqliteSaver loses one of two concurrent invokes; ours rejects it, and the retry helper fixes it.
    expect(out).toContain(
      'official SqliteSaver: count = 1, both invokes "succeeded" — one update lost, no error raised.',
    );
    expect(out).toContain(
      "FencedCheckpointSaver: count = 1, the losing invoke raised VersionConflictError (VERSION_CONFLICT, retryable: true).",
    );
    expect(out).toContain("FencedCheckpointSaver + invokeWithRetry: the loser re-ran from the new head; count = 2.");
  });

  it("prints the same output on every run", () => {
    const dir = join(tmp.dir, "again");
    expect(tsx(["src/cli/main.ts", "demo", "--dir", dir])).toBe(tsx(["src/cli/main.ts", "demo", "--dir", dir]));
  });

  it("has help for the CLI and for the command, and rejects a bad option with exit code 2", () => {
    expect(tsx(["src/cli/main.ts", "--help"])).toContain("demo");
    expect(tsx(["src/cli/main.ts", "--version"]).trim()).toBe(PACKAGE_VERSION);
    expect(tsx(["src/cli/main.ts", "demo", "--help"])).toContain("--dir DIR");
    expect(tsx(["src/cli/main.ts", "demo", "--help"])).toContain("--increments N");
    expect(() => tsx(["src/cli/main.ts", "demo", "--increments", "zero"])).toThrow(
      expect.objectContaining({ status: 2 }),
    );
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
