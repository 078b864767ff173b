/** examples/openai-agents-session runs offline, as docs/openai-agents.md shows it, so it cannot rot. */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { ROOT } from "../../support/processes.js";

describe("examples/openai-agents-session", () => {
  it("runs offline and shows the conflict retried, no session item lost, and the stalled run FENCED (G1, G2)", () => {
    // A (fake) key and a dead API base: with tracing left on, the SDK's exporter would try to send traces and report
    // "Tracing: request failed" on stderr. The example must not touch the network at all. NODE_ENV is not "test" here,
    // because the SDK turns tracing off by itself under NODE_ENV=test (which vitest sets) and would hide the mistake.
    const env = {
      ...process.env,
      NODE_ENV: "production",
      OPENAI_API_KEY: "sk-offline-test",
      OPENAI_BASE_URL: "http://127.0.0.1:9/v1",
    };
    const {
      status,
      stdout: out,
      stderr,
    } = spawnSync(process.execPath, ["--import", "tsx", "examples/openai-agents-session/main.ts"], {
      cwd: ROOT,
      env,
      encoding: "utf8",
      timeout: 60_000,
    });
    expect({ status, stderr }).toEqual({ status: 0, stderr: "" });
    expect(out).toMatch(/: VERSION_CONFLICT \(retryable: true, current version 1\) -> re-reads and retries/);
    expect(out).toMatch(
      /team\/plan = \["(gather sources|draft outline)","(gather sources|draft outline)"\] \(version 2\)/,
    );
    expect(out).toContain("session support-42 holds 6 of the 6 items the 3 runs wrote");
    expect(out).toContain("stalled run: FENCED (superseded: held epoch 1, current 2)");
    expect(out).toContain("session support-43 holds: user: second message | assistant: fresh answer");
  });
});
