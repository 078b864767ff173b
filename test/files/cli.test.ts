/** `fenced files`: the CLI a shell script or an agent uses — versions, exit codes per outcome, outside edits. */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FILES_EXIT } from "../../src/cli/files.js";
import { tempDir } from "../support/backends.js";
import { ROOT } from "../support/processes.js";

const tmp = tempDir();
afterAll(() => tmp.remove());

function cli(args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(
    process.execPath,
    [
      "--import",
      "tsx",
      "src/cli/main.ts",
      "files",
      "--dir",
      join(tmp.dir, "d"),
      "--db",
      join(tmp.dir, "state.db"),
      ...args,
    ],
    {
      cwd: ROOT,
      encoding: "utf8",
      input: input ?? "",
    },
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("fenced files CLI", { timeout: 180_000 }, () => {
  it("writes with --expect-version, reads content on stdout and the version on stderr, and exits 3 on a stale version", () => {
    expect(cli(["write", "plan.md", "--expect-version", "0"], "# plan\n")).toMatchObject({
      status: 0,
      stdout: "version 1\n",
    });
    const read = cli(["read", "plan.md"]);
    expect(read).toMatchObject({ status: 0, stdout: "# plan\n" });
    expect(read.stderr).toMatch(/^version 1 epoch 0 sha256 [0-9a-f]{64}\n$/);
    expect(JSON.parse(cli(["read", "plan.md", "--json"]).stdout)).toMatchObject({
      path: "plan.md",
      version: 1,
      content: "# plan\n",
    });
    const stale = cli(["write", "plan.md", "--expect-version", "0"], "late\n");
    expect(stale.status).toBe(FILES_EXIT.conflict);
    expect(stale.stderr).toContain('"code":"VERSION_CONFLICT"');
    expect(readFileSync(join(tmp.dir, "d", "plan.md"), "utf8")).toBe("# plan\n");
  });

  it("claims, fences a write without the epoch (exit 4), refuses a second claimer (exit 5) and releases", () => {
    const epoch = cli(["claim", "plan.md", "--owner", "a"]).stdout.trim();
    expect(Number(epoch)).toBeGreaterThan(0);
    expect(cli(["write", "plan.md", "--expect-version", "1"], "x\n").status).toBe(FILES_EXIT.fenced);
    expect(cli(["claim", "plan.md", "--owner", "b"]).status).toBe(FILES_EXIT.claimHeld);
    expect(
      cli(["write", "plan.md", "--expect-version", "1", "--epoch", epoch, "--owner", "a"], "by a\n"),
    ).toMatchObject({ status: 0, stdout: "version 2\n" });
    expect(cli(["release", "plan.md", "--owner", "a", "--epoch", epoch])).toMatchObject({
      status: 0,
      stdout: "released\n",
    });
    expect(cli(["write", "plan.md", "--expect-version", "2", "--epoch", epoch], "zombie\n").status).toBe(
      FILES_EXIT.fenced,
    );
  });

  it("reports an outside edit (exit 6) in write and status, and settles it with adopt or discard", () => {
    writeFileSync(join(tmp.dir, "d", "plan.md"), "by hand\n");
    const blocked = cli(["write", "plan.md", "--expect-version", "2"], "v3\n");
    expect(blocked.status).toBe(FILES_EXIT.outsideEdit);
    expect(blocked.stderr).toContain('"outsideEdit":true');
    expect(cli(["status"])).toMatchObject({ status: FILES_EXIT.outsideEdit, stdout: "outside-edit v2\tplan.md\n" });
    expect(JSON.parse(cli(["adopt", "plan.md", "--json"]).stdout)).toMatchObject({ version: 3, materialized: true });
    expect(cli(["status"])).toMatchObject({ status: 0, stdout: "current      v3\tplan.md\n" });
    writeFileSync(join(tmp.dir, "d", "plan.md"), "again\n");
    expect(cli(["discard", "plan.md"])).toMatchObject({ status: 0, stdout: "version 3\n" });
    expect(readFileSync(join(tmp.dir, "d", "plan.md"), "utf8")).toBe("by hand\n");
  });

  it("exits 2 on bad usage or a bad path, writing nothing", () => {
    expect(cli(["write", "plan.md"], "x").status).toBe(FILES_EXIT.usage); // no --expect-version
    expect(cli(["write", "../escape.md", "--expect-version", "0"], "x").status).toBe(FILES_EXIT.usage);
    expect(cli(["frobnicate"]).status).toBe(FILES_EXIT.usage);
    expect(cli(["read"]).status).toBe(FILES_EXIT.usage);
    expect(cli(["write", "plan.md", "--expect-version", "-1"], "x").status).toBe(FILES_EXIT.usage);
    expect(cli(["read", "plan.md"]).stdout).toBe("by hand\n");
  });
});
