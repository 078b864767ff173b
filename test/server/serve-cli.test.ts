/**
 * `fenced serve` as a real process: it prints its URL, serves the embedded SQLite file, finishes and exits 0 on
 * SIGTERM with the data durable on disk, refuses a non-loopback bind without a token, and enforces a token given
 * through FENCED_TOKEN.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openStore } from "../../src/index.js";
import { tempDir } from "../support/backends.js";
import { ROOT } from "../support/processes.js";

const tmp = tempDir();
afterAll(() => tmp.remove());

function serve(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "serve", ...args], {
    cwd: ROOT,
    stdio: "pipe",
    env: { ...process.env, ...env },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const url = new Promise<string>((resolve, reject) => {
    child.stdout.on("data", () => {
      const m = /listening on (http:\/\/\S+)/.exec(stdout);
      if (m) resolve(m[1]!);
    });
    void exited.then((code) => reject(new Error(`serve exited (${code}) before listening: ${stderr}`)));
  });
  url.catch(() => undefined); // awaited only by the tests that expect it to listen
  return { child, url, exited, output: () => ({ stdout, stderr }) };
}

const commit = (url: string, body: object, headers: Record<string, string> = {}) =>
  fetch(`${url}/v1/commit`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });

describe("fenced serve", () => {
  it("serves a SQLite file and exits 0 on SIGTERM with every acknowledged commit on disk", async () => {
    const db = join(tmp.dir, "serve.db");
    const proc = serve(["--port", "0", "--db", db]);
    const url = await proc.url;
    expect(proc.output().stdout).toContain(`(sqlite ${db})`);
    for (let i = 0; i < 5; i++)
      expect((await commit(url, { key: "cli/n", op: { type: "increment", by: 1 } })).status).toBe(200);
    proc.child.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
    expect(proc.output().stdout).toContain("SIGTERM: finishing in-flight requests");
    const store = await openStore({ path: db });
    expect(await store.read("cli/n")).toMatchObject({ value: 5, version: 5 });
    await store.close();
  });

  it("refuses to bind a non-loopback address without a token", async () => {
    const proc = serve(["--port", "0", "--memory", "--host", "0.0.0.0"]);
    expect(await proc.exited).not.toBe(0);
    expect(proc.output().stderr).toContain("refusing to bind 0.0.0.0 without a token");
    expect(proc.output().stdout).not.toContain("listening");
  });

  it("requires the token from FENCED_TOKEN", async () => {
    const token = "cli-token-0123456789abcdef";
    const proc = serve(["--port", "0", "--memory"], { FENCED_TOKEN: token });
    const url = await proc.url;
    expect((await commit(url, { key: "a", op: { type: "delete" } })).status).toBe(401);
    expect((await commit(url, { key: "a", op: { type: "delete" } }, { authorization: `Bearer ${token}` })).status).toBe(
      200,
    );
    proc.child.kill("SIGINT");
    expect(await proc.exited).toBe(0);
    expect(proc.output().stdout + proc.output().stderr).not.toContain(token);
  });

  it("rejects conflicting store options", async () => {
    const proc = serve(["--memory", "--db", join(tmp.dir, "x.db")]);
    expect(await proc.exited).toBe(2);
    expect(proc.output().stderr).toContain("at most one of --db, --memory, --url");
  });

  it("passes --url to openStore, which checks it", async () => {
    const proc = serve(["--port", "0", "--url", "mysql://db.internal/x"]);
    expect(await proc.exited).toBe(1);
    expect(proc.output().stderr).toContain("url must start with postgres:// or postgresql://");
  });
});
