/**
 * Bearer-token auth: loopback-only without a token (and no binding elsewhere), a constant-time token check with one,
 * `/healthz` open for probes, and the token never written to a log. Without a token, "loopback only" also means a
 * loopback `Host` and no foreign `Origin`: a web page that rebinds its own name to 127.0.0.1 (DNS rebinding) reaches
 * the socket from loopback, but with its own name in `Host` and its own origin in `Origin`.
 */
import { connect } from "node:net";
import { Writable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { openStore, type StateStore } from "../../src/index.js";
import { assertBindable, createServer, isLoopback, type FencedServer } from "../../src/server/index.js";

const TOKEN = "s3cret-token-7f9a2c41e8d0b6";
const open: { server: FencedServer; store: StateStore }[] = [];

async function start(options: Parameters<typeof createServer>[1] = {}): Promise<FencedServer> {
  const store = await openStore({ memory: true });
  const server = createServer(store, { port: 0, ...options });
  open.push({ server, store });
  return server;
}

afterEach(async () => {
  for (const { server, store } of open.splice(0)) {
    await server.close();
    await store.close();
  }
});

const commit = { key: "a", op: { type: "set", value: 1 } };

describe("without a token", () => {
  it("refuses to bind anything but loopback, with a typed INVALID_INPUT", async () => {
    const store = await openStore({ memory: true });
    for (const host of ["0.0.0.0", "::", "192.168.1.10", "example.com"]) {
      expect(() => createServer(store, { host })).toThrow(expect.objectContaining({ code: "INVALID_INPUT" }));
    }
    for (const host of ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
      expect(() => assertBindable(host, undefined)).not.toThrow();
    expect(() => createServer(store, { host: "0.0.0.0", token: "" })).toThrow(
      expect.objectContaining({ code: "INVALID_INPUT" }),
    );
    await store.close();
  });

  it("answers loopback clients and refuses others with 403 FORBIDDEN", async () => {
    const server = await start();
    const local = await server.app.inject({
      method: "POST",
      url: "/v1/commit",
      payload: commit,
      remoteAddress: "127.0.0.1",
    });
    expect(local.statusCode).toBe(200);
    for (const remoteAddress of ["10.1.2.3", "::ffff:192.168.0.4", "2001:db8::1"]) {
      const far = await server.app.inject({ method: "POST", url: "/v1/commit", payload: commit, remoteAddress });
      expect(far.statusCode).toBe(403);
      expect(far.json()).toMatchObject({ error: { code: "FORBIDDEN", retryable: false } });
    }
  });

  it("knows loopback addresses", () => {
    expect(["127.0.0.1", "127.9.9.9", "::1", "[::1]", "::ffff:127.0.0.1", "localhost"].every(isLoopback)).toBe(true);
    expect(["10.0.0.1", "0.0.0.0", "::", "::ffff:10.0.0.1", "128.0.0.1", "", undefined].some(isLoopback)).toBe(false);
  });
});

describe("without a token: DNS rebinding", () => {
  const FOREIGN_HOSTS = [
    "evil.example",
    "evil.example:7373",
    "127.0.0.1.nip.io:7373",
    "localhost.evil.example",
    "192.168.1.2:7373",
    "[::2]:7373",
    "[::1]x",
    "localhost:80:80",
    "localhost:port",
    "127.0.0.1:7373@evil.example",
  ];
  const FOREIGN_ORIGINS = [
    "http://evil.example",
    "http://evil.example:7373",
    "https://localhost.evil.example",
    "null",
    "file://",
    "not a url",
  ];
  const LOCAL_HOSTS = [
    "localhost",
    "localhost:7373",
    "LocalHost:1",
    "127.0.0.1:7373",
    "127.1.2.3",
    "[::1]:7373",
    "[::1]",
    "[::ffff:127.0.0.1]:80",
  ];
  const LOCAL_ORIGINS = ["http://localhost:3000", "http://127.0.0.1:7373", "https://[::1]:8443", "http://localhost"];

  it("refuses a request whose Host is not a loopback name or address with 403 FORBIDDEN, on every route, writing nothing", async () => {
    const server = await start();
    for (const host of FOREIGN_HOSTS) {
      for (const [method, url] of [
        ["POST", "/v1/commit"],
        ["POST", "/v1/read"],
        ["GET", "/v1/watch"],
        ["GET", "/openapi.json"],
        ["GET", "/metrics"],
        ["GET", "/healthz"],
      ] as const) {
        const res = await server.app.inject({
          method,
          url,
          headers: { host },
          ...(method === "POST" && { payload: commit }),
        });
        expect(res.statusCode, `${method} ${url} with Host: ${host}`).toBe(403);
        expect(res.json()).toMatchObject({ error: { code: "FORBIDDEN", retryable: false } });
      }
    }
    expect(
      await server.app.inject({ method: "POST", url: "/v1/read", payload: { key: "a" } }).then((r) => r.json()),
    ).toMatchObject({ exists: false, version: 0 });
  });

  it("refuses a request with a foreign Origin, even from a loopback Host", async () => {
    const server = await start();
    for (const origin of FOREIGN_ORIGINS) {
      const res = await server.app.inject({
        method: "POST",
        url: "/v1/commit",
        payload: commit,
        headers: { host: "127.0.0.1:7373", origin },
      });
      expect(res.statusCode, `Origin: ${origin}`).toBe(403);
      expect(res.json()).toMatchObject({ error: { code: "FORBIDDEN" } });
    }
    expect(
      await server.app.inject({ method: "POST", url: "/v1/read", payload: { key: "a" } }).then((r) => r.json()),
    ).toMatchObject({ exists: false });
  });

  it("serves loopback Hosts with any port, with no Origin or a loopback one", async () => {
    const server = await start();
    for (const host of LOCAL_HOSTS) {
      for (const origin of [undefined, ...LOCAL_ORIGINS]) {
        const headers = origin === undefined ? { host } : { host, origin };
        const res = await server.app.inject({ method: "POST", url: "/v1/read", payload: { key: "a" }, headers });
        expect(res.statusCode, `Host: ${host}, Origin: ${origin}`).toBe(200);
      }
    }
  });

  it("refuses a forged Host over a real socket too, and a request with no Host at all", async () => {
    const server = await start();
    const url = new URL(await server.listen());
    const raw = (request: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(Number(url.port), url.hostname);
        let out = "";
        socket.setEncoding("utf8");
        socket
          .on("data", (c: string) => (out += c))
          .on("end", () => resolve(out))
          .on("error", reject);
        socket.write(request);
      });
    const body = JSON.stringify(commit);
    const forged = await raw(
      `POST /v1/commit HTTP/1.1\r\nHost: rebound.evil.example:${url.port}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );
    expect(forged).toMatch(/^HTTP\/1.1 403 /);
    expect(forged).toContain('"code":"FORBIDDEN"');
    const hostless = await raw(
      `POST /v1/commit HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    expect(hostless).toMatch(/^HTTP\/1.[01] 403 /);
    const local = await raw(
      `POST /v1/read HTTP/1.1\r\nHost: localhost:${url.port}\r\nContent-Type: application/json\r\nContent-Length: 11\r\nConnection: close\r\n\r\n{"key":"a"}`,
    );
    expect(local).toMatch(/^HTTP\/1.1 200 /);
    expect(
      await server.app.inject({ method: "POST", url: "/v1/read", payload: { key: "a" } }).then((r) => r.json()),
    ).toMatchObject({ exists: false });
  });

  it("sends no CORS headers: a browser page of another origin can neither preflight nor read an answer", async () => {
    const server = await start();
    const preflight = await server.app.inject({
      method: "OPTIONS",
      url: "/v1/commit",
      headers: {
        origin: "http://localhost:3000",
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type",
      },
    });
    expect(preflight.statusCode).toBeGreaterThanOrEqual(400);
    const answer = await server.app.inject({
      method: "POST",
      url: "/v1/read",
      payload: { key: "a" },
      headers: { origin: "http://localhost:3000" },
    });
    for (const res of [preflight, answer]) {
      expect(Object.keys(res.headers).filter((h) => h.startsWith("access-control-"))).toEqual([]);
    }
  });
});

describe("with a token", () => {
  it("serves any Host and Origin that present the token (a rebinding page cannot know it)", async () => {
    const server = await start({ token: TOKEN });
    const res = await server.app.inject({
      method: "POST",
      url: "/v1/commit",
      payload: commit,
      headers: { host: "coordinator.internal:7373", origin: "https://app.internal", authorization: `Bearer ${TOKEN}` },
    });
    expect(res.statusCode).toBe(200);
    const without = await server.app.inject({
      method: "POST",
      url: "/v1/commit",
      payload: commit,
      headers: { host: "coordinator.internal:7373" },
    });
    expect(without.statusCode).toBe(401);
  });

  it("may bind a non-loopback address (checked, not bound, here)", () => {
    expect(() => assertBindable("0.0.0.0", TOKEN)).not.toThrow();
  });

  it("needs Authorization: Bearer <token> on every route but /healthz; a wrong or missing one is 401 and writes nothing", async () => {
    const server = await start({ token: TOKEN });
    for (const authorization of [
      undefined,
      "Bearer wrong",
      `Bearer ${TOKEN}x`,
      `Bearer ${TOKEN.slice(0, -1)}`,
      TOKEN,
      `Basic ${TOKEN}`,
    ]) {
      const headers = authorization === undefined ? {} : { authorization };
      for (const [method, url] of [
        ["POST", "/v1/commit"],
        ["POST", "/v1/read"],
        ["GET", "/metrics"],
        ["GET", "/openapi.json"],
        ["GET", "/v1/watch"],
      ] as const) {
        const res = await server.app.inject({ method, url, headers, ...(method === "POST" && { payload: commit }) });
        expect(res.statusCode, `${method} ${url} with ${authorization}`).toBe(401);
        expect(res.json()).toMatchObject({ error: { code: "UNAUTHORIZED", retryable: false } });
        expect(res.body).not.toContain(TOKEN);
      }
    }
    const read = await server.app.inject({
      method: "POST",
      url: "/v1/read",
      payload: { key: "a" },
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(read.json()).toMatchObject({ exists: false, version: 0 });
    const ok = await server.app.inject({
      method: "POST",
      url: "/v1/commit",
      payload: commit,
      headers: { authorization: `bearer ${TOKEN}` },
    });
    expect(ok.statusCode).toBe(200);
    const health = await server.app.inject({ method: "GET", url: "/healthz" });
    expect(health.json()).toMatchObject({ status: "ok", backend: "memory" });
  });

  it("serves non-loopback clients that present the token", async () => {
    const server = await start({ token: TOKEN });
    const res = await server.app.inject({
      method: "POST",
      url: "/v1/commit",
      payload: commit,
      remoteAddress: "10.1.2.3",
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(res.statusCode).toBe(200);
  });

  it("never writes the token to the log, even with a request serializer that logs headers", async () => {
    let log = "";
    const stream = new Writable({
      write(chunk, _enc, done) {
        log += String(chunk);
        done();
      },
    });
    const server = await start({
      token: TOKEN,
      logger: {
        level: "trace",
        stream,
        serializers: {
          req: (req: { method: string; url: string; headers: object }) => ({
            method: req.method,
            url: req.url,
            headers: req.headers,
          }),
        },
      },
    });
    await server.app.inject({
      method: "POST",
      url: "/v1/commit",
      payload: commit,
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    await server.app.inject({
      method: "POST",
      url: "/v1/commit",
      payload: commit,
      headers: { authorization: `Bearer ${TOKEN}-wrong` },
    });
    await server.app.inject({
      method: "POST",
      url: "/v1/commit",
      payload: "{bad",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    });
    expect(log).toContain("incoming request");
    expect(log).toContain("[redacted]");
    expect(log).not.toContain(TOKEN);
  });
});
