/**
 * `fenced mcp` as a real process, driven by the official SDK client: over stdio (the client spawns it, as an MCP
 * client does) and over streamable HTTP, with the coordinator's access rules.
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, describe, expect, it } from "vitest";
import { openStore } from "../../src/index.js";
import { tempDir } from "../support/backends.js";
import { ROOT } from "../support/processes.js";
import { call, connect } from "./support.js";

const tmp = tempDir();
afterAll(() => tmp.remove());

function stdioClient(db: string) {
  return connect(
    new StdioClientTransport({
      command: process.execPath,
      args: ["--import", "tsx", "src/cli/main.ts", "mcp", "--db", db],
      cwd: ROOT,
      stderr: "pipe",
    }),
  );
}

/** Starts `fenced mcp --http …` and resolves with its URL once it prints it. */
function startHttp(args: string[]) {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "src/cli/main.ts", "mcp", "--http", "--port", "0", ...args],
    { cwd: ROOT, stdio: "pipe" },
  );
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const url = new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once("line", (line) => resolve(/listening on (\S+)/.exec(line)![1]!));
    void exited.then((code) => reject(new Error(`fenced mcp exited ${code}: ${stderr}`)));
  });
  return { child, url, exited, stderr: () => stderr };
}

/** POSTs `tools/list` with extra headers through node:http, which, unlike fetch, sends the Host it is given. */
function postStatus(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
      },
      (res) => {
        res.resume();
        resolve(res.statusCode!);
      },
    );
    req.on("error", reject);
    req.end(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }));
  });
}

describe("fenced mcp over stdio", () => {
  it("serves every kind of answer to a spawned process's client, on the SQLite file it names", async () => {
    const db = join(tmp.dir, "stdio.db");
    const client = await stdioClient(db);
    try {
      expect((await client.listTools()).tools.map((t) => t.name)).toContain("effect_begin");
      expect(
        (await call(client, "commit", { key: "s/doc", op: { type: "set", value: "v1" }, expectVersion: 0 })).structured,
      ).toMatchObject({ version: 1 });
      const conflict = await call(client, "commit", {
        key: "s/doc",
        op: { type: "set", value: "v2" },
        expectVersion: 0,
      });
      expect(conflict.structured).toMatchObject({
        code: "VERSION_CONFLICT",
        retryable: true,
        current: { version: 1, value: "v1" },
      });
      const claim = (await call(client, "claim", { key: "s/job", owner: "a", ttlMs: 60_000 })).structured as {
        epoch: number;
      };
      await call(client, "claim", { key: "s/job", owner: "b", ttlMs: 60_000, steal: true });
      const fenced = await call(client, "commit", {
        key: "s/out",
        op: { type: "set", value: 1 },
        guards: [{ key: "s/job", epoch: claim.epoch }],
      });
      expect(fenced.structured).toMatchObject({ code: "FENCED", retryable: false, details: { reason: "superseded" } });
      expect((await call(client, "commit", { key: "", op: { type: "set", value: 1 } })).structured).toMatchObject({
        code: "INVALID_INPUT",
      });
    } finally {
      await client.close();
    }
    const store = await openStore({ path: db });
    expect(await store.read("s/doc")).toMatchObject({ value: "v1", version: 1 });
    await store.close();
  });

  it("two servers on one file: the second agent's stale commit is a conflict, not a lost update", async () => {
    const db = join(tmp.dir, "shared.db");
    const [a, b] = await Promise.all([stdioClient(db), stdioClient(db)]);
    try {
      const read = (await call(a, "read", { key: "shared/plan" })).structured as { version: number };
      expect((await call(b, "read", { key: "shared/plan" })).structured).toMatchObject({ version: read.version });
      expect(
        (await call(a, "commit", { key: "shared/plan", op: { type: "set", value: "A" }, expectVersion: read.version }))
          .isError,
      ).toBe(false);
      const stale = await call(b, "commit", {
        key: "shared/plan",
        op: { type: "set", value: "B" },
        expectVersion: read.version,
      });
      expect(stale.structured).toMatchObject({ code: "VERSION_CONFLICT", current: { value: "A" } });
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe("fenced mcp --http", () => {
  it("serves the SDK's streamable HTTP client on loopback, and refuses a request for another Host", async () => {
    const server = startHttp(["--db", join(tmp.dir, "http.db")]);
    try {
      const url = await server.url;
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
      const client = await connect(new StreamableHTTPClientTransport(new URL(url)));
      expect(
        (await call(client, "commit", { key: "h/k", op: { type: "set", value: 1 }, expectVersion: 0 })).structured,
      ).toMatchObject({ version: 1 });
      expect(
        (await call(client, "commit", { key: "h/k", op: { type: "set", value: 2 }, expectVersion: 0 })).structured,
      ).toMatchObject({ code: "VERSION_CONFLICT" });
      await client.close();
      // DNS rebinding: a page whose name points at 127.0.0.1 still sends its own Host (fetch would not let us set it).
      expect(await postStatus(url, { host: "evil.example" })).toBe(403);
      expect(await postStatus(url, { origin: "http://evil.example" })).toBe(403);
      expect(await postStatus(url, {})).toBe(200);
      expect((await fetch(url)).status).toBe(405);
    } finally {
      server.child.kill("SIGTERM");
      expect(await server.exited).toBe(0);
    }
  });

  it("refuses to bind a non-loopback address without a token", async () => {
    const server = startHttp(["--memory", "--host", "0.0.0.0"]);
    await expect(server.url).rejects.toThrow(/refusing to bind 0\.0\.0\.0 without a token/);
    expect(await server.exited).not.toBe(0);
  });

  it("with a token, answers 401 without it and serves the client that presents it", async () => {
    const tokenFile = join(tmp.dir, "token");
    writeFileSync(tokenFile, "s3cret\n");
    const server = startHttp(["--memory", "--token-file", tokenFile]);
    try {
      const url = await server.url;
      const anonymous = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
      });
      expect(anonymous.status).toBe(401);
      const client = await connect(
        new StreamableHTTPClientTransport(new URL(url), {
          requestInit: { headers: { authorization: "Bearer s3cret" } },
        }),
      );
      expect((await call(client, "read", { key: "t/k" })).structured).toMatchObject({ exists: false, version: 0 });
      await client.close();
    } finally {
      server.child.kill("SIGTERM");
      await server.exited;
    }
  });
});
