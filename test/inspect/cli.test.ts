/** `fenced inspect` as a real process: prints its URL, serves the page and the API over a SQLite file, exits 0 on SIGTERM. */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { op, openStore } from "../../src/index.js";
import { tempDir } from "../support/backends.js";
import { ROOT } from "../support/processes.js";

const tmp = tempDir();
afterAll(() => tmp.remove());

function inspect(args: string[]) {
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "inspect", ...args], {
    cwd: ROOT,
    stdio: "pipe",
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const url = new Promise<string>((resolve, reject) => {
    child.stdout.on("data", () => {
      const m = /fenced inspect: (http:\/\/\S+)/.exec(stdout);
      if (m) resolve(m[1]!);
    });
    void exited.then((code) => reject(new Error(`inspect exited (${code}) before listening: ${stderr}`)));
  });
  url.catch(() => undefined);
  return { child, url, exited, output: () => ({ stdout, stderr }) };
}

describe("fenced inspect", () => {
  it("serves the page and the API over a SQLite file and exits 0 on SIGTERM", async () => {
    const db = join(tmp.dir, "state.db");
    const store = await openStore({ path: db });
    await store.commit({ key: "team/notes", op: op.set(["hi"]), owner: "alice" });
    await store.close();
    const proc = inspect(["--db", db, "--port", "0"]);
    const url = await proc.url;
    expect(proc.output().stdout).toContain(`(sqlite ${db})`);
    expect((await fetch(`${url}/`)).headers.get("content-type")).toContain("text/html");
    const events = (await (await fetch(`${url}/api/events`)).json()) as { events: { key: string; owner: string }[] };
    expect(events.events).toMatchObject([{ key: "team/notes", owner: "alice", outcome: "committed" }]);
    proc.child.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
  });

  it("refuses a store file that does not exist instead of creating an empty one", async () => {
    const proc = inspect(["--db", join(tmp.dir, "missing.db"), "--port", "0"]);
    expect(await proc.exited).toBe(2);
    expect(proc.output().stderr).toContain("no store at");
  });

  it("refuses to bind a non-loopback address without a token", async () => {
    const db = join(tmp.dir, "state.db");
    const proc = inspect(["--db", db, "--host", "0.0.0.0", "--port", "0"]);
    expect(await proc.exited).not.toBe(0);
    expect(proc.output().stderr).toContain("refusing to bind 0.0.0.0 without a token");
  });
});
