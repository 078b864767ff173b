/** examples/effect-fence runs as written: one email, the zombie and the stale read refused, the retry not re-sent. */
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { ROOT } from "../support/processes.js";

describe("examples/effect-fence", () => {
  it("sends the approval email once, only from the agent that holds the task and read the current approval", () => {
    const out = execFileSync(process.execPath, ["--import", "tsx", "examples/effect-fence/main.ts"], {
      cwd: ROOT,
      encoding: "utf8",
    });
    expect(out).toContain("agent-a (zombie): FENCED on tasks/notify-PR-7 (superseded: epoch 1 < 2) — no email");
    expect(out).toContain("agent-b (stale read): VERSION_CONFLICT on approvals/PR-7, v1 is now v2 — no email");
    expect(out).toContain("agent-b retries approval-email/PR-7: fired=false, status=done");
    expect(out).toContain(
      'effects/approval-email/PR-7 v2: {"status":"done","attempt":1,"owner":"agent-b","result":{"messageId":"msg-1"}}',
    );
    expect(out).toContain(
      "event log for effects/: approval-email/PR-7/intent/1 committed, approval-email/PR-7/outcome/1 committed",
    );
    expect(out).toContain(
      "summary: 1 email sent (by agent-b, approval v2); zombie refused (FENCED superseded); stale read refused (VERSION_CONFLICT v1 → v2); retry not re-sent (done)",
    );
  });
});
