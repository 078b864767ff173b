/** `fenced mcp`'s command line: help, bad options, and the one line it prints when the optional SDK is missing. */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { ROOT } from "../support/processes.js";

const fenced = (args: string[], preload: string[] = []) =>
  spawnSync(
    process.execPath,
    ["--import", "tsx", ...preload.flatMap((p) => ["--import", p]), "src/cli/main.ts", ...args],
    {
      cwd: ROOT,
      encoding: "utf8",
      input: "",
    },
  );

describe("fenced mcp (CLI)", () => {
  it("is listed in fenced --help and has its own --help", () => {
    expect(fenced(["--help"]).stdout).toMatch(/^ {2}mcp +serve the store to MCP clients/m);
    expect(fenced(["mcp", "--help"]).stdout).toContain("--http");
  });

  it("prints one line naming the install command, and exits 1, when @modelcontextprotocol/sdk is missing", () => {
    const r = fenced(["mcp", "--memory"], ["./test/mcp/hide-sdk.mjs"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("fenced mcp: the MCP SDK is not installed; run: npm install @modelcontextprotocol/sdk\n");
    expect(r.stdout).toBe("");
  });

  it("rejects conflicting or malformed options with exit code 2", () => {
    expect(fenced(["mcp", "--memory", "--db", "x.db"])).toMatchObject({
      status: 2,
      stderr: expect.stringContaining("at most one of"),
    });
    expect(fenced(["mcp", "--http", "--port", "nope"])).toMatchObject({ status: 2 });
    expect(fenced(["mcp", "--schema", "s"])).toMatchObject({ status: 2, stderr: expect.stringContaining("--url") });
  });
});
