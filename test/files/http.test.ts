/** Fenced files over HTTP (`fenced serve --files-dir`): the `/v1/files/*` routes on every backend. */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { openStore } from "../../src/index.js";
import { FencedFiles } from "../../src/files/index.js";
import { createServer, type FencedServer } from "../../src/server/index.js";
import { backendFixtures, tempDir } from "../support/backends.js";

const tmp = tempDir();
afterAll(() => tmp.remove());
let n = 0;

describe.each(backendFixtures())("files routes on $name", (fixture) => {
  const servers: FencedServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
    await fixture.cleanup();
  });
  const serve = async () => {
    const store = await fixture.open();
    const dir = join(tmp.dir, `http${n++}`);
    const server = createServer(store, { port: 0, files: new FencedFiles(store, { dir }) });
    servers.push(server);
    const post = async (url: string, body: unknown) => {
      const r = await server.app.inject({ method: "POST", url, payload: body as object });
      // biome-ignore lint/suspicious/noExplicitAny: response bodies are probed field by field in each test
      return { status: r.statusCode, body: r.json() as Record<string, any> };
    };
    return { post, dir, server };
  };

  it("writes, reads, conflicts and fences like the library, with typed wire errors", async () => {
    const { post, dir } = await serve();
    expect(await post("/v1/files/write", { path: "plan.md", content: "v1\n", expectVersion: 0 })).toMatchObject({
      status: 200,
      body: { version: 1, materialized: true },
    });
    expect(readFileSync(join(dir, "plan.md"), "utf8")).toBe("v1\n");
    expect((await post("/v1/files/read", { path: "plan.md" })).body).toMatchObject({
      version: 1,
      content: "v1\n",
      encoding: "utf8",
      outsideEdit: false,
    });
    const stale = await post("/v1/files/write", { path: "plan.md", content: "late\n", expectVersion: 0 });
    expect(stale).toMatchObject({ status: 409, body: { error: { code: "VERSION_CONFLICT", retryable: true } } });
    const claim = (await post("/v1/files/claim", { path: "plan.md", owner: "a", ttlMs: 60_000 })).body;
    expect(claim).toMatchObject({ path: "plan.md", owner: "a", epoch: 1 });
    expect((await post("/v1/files/claim", { path: "plan.md", owner: "b", ttlMs: 60_000 })).body.error.code).toBe(
      "CLAIM_HELD",
    );
    const fenced = await post("/v1/files/write", { path: "plan.md", content: "x\n", expectVersion: 1 });
    expect(fenced).toMatchObject({ status: 409, body: { error: { code: "FENCED", details: { reason: "no-epoch" } } } });
    expect((await post("/v1/files/renew", { path: "plan.md", owner: "a", epoch: 1, ttlMs: 60_000 })).body.epoch).toBe(
      1,
    );
    expect(
      (await post("/v1/files/write", { path: "plan.md", content: "by a\n", expectVersion: 1, epoch: 1, opId: "w-1" }))
        .body.version,
    ).toBe(2);
    expect(
      (await post("/v1/files/write", { path: "plan.md", content: "by a\n", expectVersion: 1, epoch: 1, opId: "w-1" }))
        .body,
    ).toMatchObject({ version: 2, replayed: true });
    expect((await post("/v1/files/release", { path: "plan.md", owner: "a", epoch: 1 })).body).toEqual({
      released: true,
    });
  });

  it("reports an outside edit as VERSION_CONFLICT with details.outsideEdit, and adopts or discards it", async () => {
    const { post, dir } = await serve();
    await post("/v1/files/write", { path: "notes/d.md", content: "v1\n", expectVersion: 0 });
    writeFileSync(join(dir, "notes/d.md"), "hand\n");
    const blocked = await post("/v1/files/write", { path: "notes/d.md", content: "v2\n", expectVersion: 1 });
    expect(blocked).toMatchObject({
      status: 409,
      body: { error: { code: "VERSION_CONFLICT", details: { outsideEdit: true, path: "notes/d.md" } } },
    });
    expect((await post("/v1/files/status", {})).body.files).toEqual([
      expect.objectContaining({ path: "notes/d.md", state: "outside-edit" }),
    ]);
    expect((await post("/v1/files/adopt", { path: "notes/d.md", expectVersion: 1 })).body).toMatchObject({
      version: 2,
    });
    writeFileSync(join(dir, "notes/d.md"), "again\n");
    expect((await post("/v1/files/discard", { path: "notes/d.md" })).body).toMatchObject({
      version: 2,
      state: "current",
    });
    expect(readFileSync(join(dir, "notes/d.md"), "utf8")).toBe("hand\n");
  });

  it("publishes several files all or none, and carries binary content as base64", async () => {
    const { post, dir } = await serve();
    const bytes = Buffer.from([0, 1, 2, 255]);
    const ok = await post("/v1/files/publish", {
      files: [
        { path: "a.md", content: "a\n", expectVersion: 0 },
        { path: "b.bin", content: bytes.toString("base64"), encoding: "base64", expectVersion: 0 },
      ],
    });
    expect(ok.body.results.map((r: { version: number }) => r.version)).toEqual([1, 1]);
    expect(readFileSync(join(dir, "b.bin")).equals(bytes)).toBe(true);
    expect((await post("/v1/files/read", { path: "b.bin" })).body).toMatchObject({
      encoding: "base64",
      content: bytes.toString("base64"),
    });
    const bad = await post("/v1/files/publish", {
      files: [
        { path: "c.md", content: "c\n", expectVersion: 0 },
        { path: "a.md", content: "a2\n", expectVersion: 0 },
      ],
    });
    expect(bad.body.error.code).toBe("VERSION_CONFLICT");
    expect((await post("/v1/files/read", { path: "c.md" })).body).toMatchObject({ exists: false, version: 0 });
  });

  it("answers a bad path or body with INVALID_INPUT (400) and writes nothing", async () => {
    const { post, dir } = await serve();
    for (const body of [
      { path: "../x", content: "" },
      { path: "/abs", content: "" },
      { path: "a\u0000b", content: "" },
      { path: "a.md", content: "", opId: "o" },
      { path: "a.md" },
    ]) {
      expect(await post("/v1/files/write", body), JSON.stringify(body)).toMatchObject({
        status: 400,
        body: { error: { code: "INVALID_INPUT" } },
      });
    }
    expect((await post("/v1/files/status", {})).body.files).toEqual([]);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe("a coordinator without --files-dir", () => {
  it("has no /v1/files routes, and lists them in /openapi.json only when it serves a directory", async () => {
    const store = await openStore({ memory: true });
    const plain = createServer(store, { port: 0 });
    const withFiles = createServer(store, {
      port: 0,
      files: new FencedFiles(store, { dir: join(tmp.dir, "openapi") }),
    });
    try {
      expect(
        (await plain.app.inject({ method: "POST", url: "/v1/files/read", payload: { path: "a" } })).statusCode,
      ).toBe(404);
      const paths = (server: FencedServer) =>
        server.app
          .inject({ method: "GET", url: "/openapi.json" })
          .then((r) => Object.keys((r.json() as { paths: object }).paths));
      expect((await paths(plain)).filter((p) => p.startsWith("/v1/files/"))).toEqual([]);
      expect((await paths(withFiles)).filter((p) => p.startsWith("/v1/files/")).sort()).toEqual(
        ["adopt", "claim", "discard", "publish", "read", "release", "renew", "status", "write"].map(
          (a) => `/v1/files/${a}`,
        ),
      );
    } finally {
      await plain.close();
      await withFiles.close();
      await store.close();
    }
  });
});
