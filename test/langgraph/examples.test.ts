/** The LangGraph examples run offline, as docs/langgraph.md shows them, and print what they claim (so they cannot rot). */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..");
const run = async (example: string) =>
  (
    await promisify(execFile)(process.execPath, ["--import", "tsx", join("examples", example, "main.ts")], {
      cwd: ROOT,
      timeout: 90_000,
    })
  ).stdout;

describe("examples", () => {
  it("langgraph-lost-update: the official savers lose each update; FencedCheckpointSaver raises or counts it", async () => {
    const out = await run("langgraph-lost-update");
    expect(out).toMatch(/MemorySaver\s+count = 1, no error: one update LOST/);
    expect(out).toMatch(
      /FencedCheckpointSaver\s+count = 1, the other invoke raised VersionConflictError \(VERSION_CONFLICT\)/,
    );
    expect(out).toMatch(/\+ invokeWithRetry\s+count = 2: both counted/);
    expect(out).toMatch(/SqliteSaver\s+count = 1, processes said \[ok, ok\]: one update LOST/);
    expect(out).toMatch(
      /FencedCheckpointSaver\s+count = 1, processes said \[VersionConflictError VERSION_CONFLICT, ok\]/,
    );
    expect(out).toMatch(/\+ invokeWithRetry\s+count = 2, processes said \[ok, ok\]/);
    expect(out).toMatch(
      /MemorySaver\s+zombie finished; step went 6 -> 4, log \[first, zombie\]: the fresh run is LOST/,
    );
    expect(out).toMatch(/zombie raised VersionConflictError \(VERSION_CONFLICT\); step stays 6/);
    expect(out).toMatch(/zombie re-ran from the new head and finished; count = 3, log \[first, fresh, zombie\]/);
    expect(out).toMatch(/interrupted the zombie, which raised FencedError \(FENCED\)/);
    expect(out).toMatch(
      /merge reducer \(any saver\)\s+verdict = "reject", no error: the other branch's verdict is LOST/,
    );
    expect(out).toMatch(
      /VersionConflictError \(VERSION_CONFLICT\): field "verdict": right set it from version 0, but left/,
    );
    expect(out).toMatch(/\+ merge function\s+verdict = "approve \/ reject": both kept/);
  });

  it("parallel-branches: Send workers all land, the clash is typed, and a merge policy resolves it on resume", async () => {
    const out = await run("parallel-branches");
    expect(out).toContain(
      "the workers' updates all landed: 4 findings, 8 sources, owners of latency, pricing, security, support",
    );
    expect(out).toContain('VersionConflictError on field "verdict" between optimist and skeptic');
    expect(out).toContain("verdict: ship it; needs another pass (reviewers disagree)");
    expect(out).toContain("field versions: findings@4, owners@4, sources@4, verdict@2");
  });

  it("encrypted-checkpoints: no plaintext on disk, a flipped bit and plaintext rows refused, rotation and re-keying", async () => {
    const out = await run("encrypted-checkpoints");
    expect(out).toMatch(/the file contains "penicillin"\s+false/);
    expect(out).toMatch(/stored types\s+json\+aes256gcm:k2025\n/);
    expect(out).toMatch(/getState on the tampered thread\s+IntegrityError \(INTEGRITY\)/);
    expect(out).toMatch(/read with EncryptedSerializer\s+IntegrityError \(INTEGRITY\)/);
    expect(out).toMatch(/read with allowPlaintext: true\s+read/);
    expect(out).toMatch(/patient-7 after the sign-off\s+filed: allergic to penicillin; signed by dr. Osei/);
    expect(out).toMatch(/read with k2026 only\s+IntegrityError \(INTEGRITY\)/);
    expect(out).toMatch(/copied\s+7 checkpoints, 13 writes of 2 threads/);
    expect(out).toMatch(/patient-7 in the new store, k2026 only\s+filed: allergic to penicillin; signed by dr. Osei/);
  });

  it("import-from-sqlitesaver: every thread copied and verified, the same history, 0 copied the second time, the interrupt resumes", async () => {
    const out = await run("import-from-sqlitesaver");
    expect(out).toMatch(/source\s+2 threads, 2 namespaces, 11 checkpoints, 15 writes/);
    expect(out).toMatch(/copied\s+11 checkpoints, 15 writes/);
    expect(out).toMatch(/verified\s+2 threads, 2 namespaces, 11 checkpoints, 15 writes, 2 heads/);
    expect(out).toMatch(/ana: getStateHistory\s+the same as on SqliteSaver/);
    expect(out).toMatch(/ben: getStateHistory\s+the same as on SqliteSaver/);
    expect(out).toMatch(/run it again: copied\s+0 checkpoints, 0 writes/);
    expect(out).toMatch(/ben\s+user: I want a refund \| bot: re "user: I want a refund" \| approved by a human/);
  });

  it("langgraph-prune: prune while a run runs, copyThread, deleteForRuns; the graph keeps working", async () => {
    const out = await run("langgraph-prune");
    expect(out).toMatch(
      /prune while a run was running: deleted \d+ checkpoints; the run finished: count = 4, log \[a, b, c, slow\]/,
    );
    expect(out).toContain("copyThread: t-copy count = 5 (t stays at 4)");
    expect(out).toMatch(
      /deleteForRuns: removed \d+ checkpoints of run-mistake; t is back at count = 4, log \[a, b, c, slow\]/,
    );
  });

  it("langgraph-retention: thread TTL sweeps (keep_latest keeps interrupts answerable, delete) and FencedStore item TTL", async () => {
    const out = await run("langgraph-retention");
    expect(out).toMatch(/sweep \(keep_latest, idle > 7 days\): 1 thread\(s\), \d+ checkpoints removed/);
    expect(out).toContain('thread "old" is interrupted; answering it a week later:\n  answer = late yes');
    expect(out).toMatch(/sweep \(delete, idle > 30 days\): 2 thread\(s\), \d+ checkpoints deleted/);
    expect(out).toContain("store: u1's profile expired; sweepTtl deleted 1 item(s)");
    expect(out).toMatch(/event-log counters: checkpoints = \d+, items = 1, threads = 3/);
  });

  it("langgraph-rollback: threadStatus says busy with the run; rollback fences it and takes its checkpoints back", async () => {
    const out = await run("langgraph-rollback");
    expect(out).toContain("status: busy, owner worker-1, run run-oslo");
    expect(out).toContain("the rolled-back run raised FencedError (FENCED)");
    expect(out).toContain(
      'messages: ["user: hi","bot: re \\"hi\\"","user: actually, Bergen","bot: re \\"actually, Bergen\\""]',
    );
    expect(out).toMatch(/status: \{"status":"idle"\}\s*$/);
  });
});
