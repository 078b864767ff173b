/**
 * Bad input on every route gets 400 (or 413, 415) with a typed body — never a 5xx — and writes nothing: no record, no
 * claim, no event-log entry. A wrong method on a known route is 405 with `Allow`. Sent over real loopback HTTP so
 * content types, lengths and chunking are the real thing.
 */
import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ERROR_TABLE, openStore, type ErrorCode, type StateStore } from "../../src/index.js";
import { createServer, JSON_ROUTES, type FencedServer } from "../../src/server/index.js";

const BODY_LIMIT = 64 * 1024;
let store: StateStore;
let server: FencedServer;
let url: string;

beforeAll(async () => {
  store = await openStore({ memory: true });
  server = createServer(store, { port: 0, bodyLimit: BODY_LIMIT });
  url = await server.listen();
});
afterAll(async () => {
  await server.close();
  await store.close();
});

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: { error?: { code: string; message: string; retryable: boolean; details: Record<string, unknown> } };
}

/** Sends raw bytes; `chunked` omits Content-Length so the server cannot know the size up front. */
function send(
  path: string,
  body: string | undefined,
  headers: Record<string, string>,
  chunked = false,
  method?: string,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${url}${path}`,
      { method: method ?? (body === undefined && !chunked ? "GET" : "POST"), headers },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (text += c));
        res.on("end", () =>
          resolve({ status: res.statusCode!, headers: res.headers, body: JSON.parse(text) as Reply["body"] }),
        );
      },
    );
    req.on("error", reject);
    if (chunked && body !== undefined) {
      // Several writes without a Content-Length: Node sends Transfer-Encoding: chunked.
      for (let i = 0; i < body.length; i += 8192) req.write(body.slice(i, i + 8192));
    } else if (body !== undefined) {
      req.setHeader("content-length", Buffer.byteLength(body));
      req.write(body);
    }
    req.end();
  });
}

const JSON_TYPE = { "content-type": "application/json" };
const deep = `${"[".repeat(5000)}1${"]".repeat(5000)}`;

/** Bodies that no route accepts, with the code each must get. */
const BAD_BODIES: {
  name: string;
  body: string;
  headers: Record<string, string>;
  code: string;
  chunked?: boolean;
  validFor?: string[];
}[] = [
  { name: "malformed JSON", body: "{bad", headers: JSON_TYPE, code: "INVALID_INPUT" },
  { name: "an empty JSON body", body: "", headers: JSON_TYPE, code: "INVALID_INPUT" },
  { name: "a JSON array", body: "[1,2]", headers: JSON_TYPE, code: "INVALID_INPUT" },
  { name: "a JSON string", body: '"x"', headers: JSON_TYPE, code: "INVALID_INPUT" },
  { name: "JSON null", body: "null", headers: JSON_TYPE, code: "INVALID_INPUT" },
  {
    name: "an empty object",
    body: "{}",
    headers: JSON_TYPE,
    code: "INVALID_INPUT",
    validFor: ["/v1/list", "/v1/events"],
  },
  {
    name: "a __proto__ key",
    body: '{"__proto__":{"x":1},"key":"a","op":{"type":"delete"}}',
    headers: JSON_TYPE,
    code: "INVALID_INPUT",
  },
  { name: "text/plain", body: "hello", headers: { "content-type": "text/plain" }, code: "UNSUPPORTED_MEDIA_TYPE" },
  {
    name: "JSON sent as text/plain",
    body: '{"key":"a","op":{"type":"delete"}}',
    headers: { "content-type": "text/plain" },
    code: "UNSUPPORTED_MEDIA_TYPE",
  },
  {
    name: "a form body",
    body: "key=a",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    code: "UNSUPPORTED_MEDIA_TYPE",
  },
  {
    name: "a multipart body",
    body: "--x--",
    headers: { "content-type": "multipart/form-data; boundary=x" },
    code: "UNSUPPORTED_MEDIA_TYPE",
  },
  { name: "no content type", body: '{"key":"a","op":{"type":"delete"}}', headers: {}, code: "UNSUPPORTED_MEDIA_TYPE" },
  { name: "no content type and no body", body: "", headers: {}, code: "UNSUPPORTED_MEDIA_TYPE" },
  {
    name: "a malformed content type",
    body: '{"key":"a"}',
    headers: { "content-type": "application/" },
    code: "UNSUPPORTED_MEDIA_TYPE",
  },
  {
    name: "5,000 levels of nesting",
    body: `{"key":${deep},"prefix":${deep}}`,
    headers: JSON_TYPE,
    code: "INVALID_INPUT",
  },
  {
    name: "a body over the limit",
    body: JSON.stringify({ key: "a", op: { type: "set", value: "x".repeat(BODY_LIMIT) } }),
    headers: JSON_TYPE,
    code: "PAYLOAD_TOO_LARGE",
  },
  {
    name: "a chunked body over the limit",
    body: JSON.stringify({ key: "a", op: { type: "set", value: "x".repeat(BODY_LIMIT) } }),
    headers: JSON_TYPE,
    code: "PAYLOAD_TOO_LARGE",
    chunked: true,
  },
];

async function expectNothingWritten(): Promise<void> {
  expect(await store.backend.lastSeq()).toBe(0);
  expect(await store.list({ includeDeleted: true })).toEqual([]);
}

describe("bad input on every route", () => {
  for (const route of JSON_ROUTES) {
    for (const bad of BAD_BODIES.filter((b) => !b.validFor?.includes(route.url))) {
      it(`POST ${route.url} with ${bad.name} → ${bad.code}, typed, nothing written`, async () => {
        const reply = await send(route.url, bad.body, bad.headers, bad.chunked);
        expect(reply.status).toBe(ERROR_TABLE[bad.code as ErrorCode].httpStatus);
        expect(reply.body.error).toMatchObject({ code: bad.code, retryable: false });
        expect(typeof reply.body.error!.message).toBe("string");
        if (bad.code === "PAYLOAD_TOO_LARGE") {
          expect(reply.body.error!.details.limit).toBe(BODY_LIMIT);
          expect(reply.body.error!.details.size).toBeGreaterThan(BODY_LIMIT);
        } else if (bad.code === "UNSUPPORTED_MEDIA_TYPE") {
          expect(reply.status).toBe(415);
          expect(reply.body.error!.details).toMatchObject({ accepted: ["application/json"] });
        } else {
          expect(Array.isArray(reply.body.error!.details.issues)).toBe(true);
        }
        await expectNothingWritten();
      });
    }
  }

  for (const query of ["fromSeq=-1", "fromSeq=abc", "fromSeq=1.5", "prefix=%01", "since=3", "prefix=a&prefix=b"]) {
    it(`GET /v1/watch?${query} → 400 INVALID_INPUT before any stream opens`, async () => {
      const reply = await send(`/v1/watch?${query}`, undefined, {});
      expect(reply.status).toBe(400);
      expect(reply.body.error).toMatchObject({ code: "INVALID_INPUT", retryable: false });
      expect(server.metrics.watchers).toBe(0);
    });
  }

  it("a value nested 5,000 levels deep → 400 INVALID_INPUT (not a stack overflow)", async () => {
    const reply = await send("/v1/commit", `{"key":"a","op":{"type":"set","value":${deep}}}`, JSON_TYPE);
    expect(reply.status).toBe(400);
    expect(reply.body.error).toMatchObject({ code: "INVALID_INPUT", details: { issues: [{ path: ["op", "value"] }] } });
    await expectNothingWritten();
  });

  it("a 4 MiB body gets its typed 413 with the declared size (Python tests show it arrives before any reset)", async () => {
    const body = JSON.stringify({ key: "a", op: { type: "set", value: "x".repeat(4 << 20) } });
    const reply = await send("/v1/commit", body, JSON_TYPE);
    expect(reply.status).toBe(413);
    expect(reply.body.error).toMatchObject({
      code: "PAYLOAD_TOO_LARGE",
      details: { limit: BODY_LIMIT, size: Buffer.byteLength(body) },
    });
    await expectNothingWritten();
  });

  it("an unknown route → 404 NOT_FOUND, typed", async () => {
    for (const [path, method] of [
      ["/v1/nope", "POST"],
      ["/v1/nope", "GET"],
      ["/v1/commit/x", "POST"],
      ["/", "GET"],
    ] as const) {
      const reply = await send(path, method === "POST" ? "{}" : undefined, JSON_TYPE, false, method);
      expect(reply.status, `${method} ${path}`).toBe(404);
      expect(reply.body.error).toMatchObject({ code: "NOT_FOUND", retryable: false });
    }
    await expectNothingWritten();
  });

  it("a wrong method on a known route → 405 METHOD_NOT_ALLOWED with an Allow header, typed, nothing written", async () => {
    const cases: [string, string, string][] = [
      ...JSON_ROUTES.flatMap((r) =>
        ["GET", "PUT", "DELETE", "PATCH", "OPTIONS"].map((m): [string, string, string] => [m, r.url, "POST"]),
      ),
      ["POST", "/v1/watch", "GET, HEAD"],
      ["DELETE", "/healthz", "GET, HEAD"],
      ["PUT", "/metrics", "GET, HEAD"],
      ["POST", "/openapi.json", "GET, HEAD"],
    ];
    for (const [method, path, allow] of cases) {
      const body =
        method === "GET" || method === "DELETE" || method === "OPTIONS"
          ? undefined
          : '{"key":"a","op":{"type":"delete"}}';
      const reply = await send(path, body, JSON_TYPE, false, method);
      expect(reply.status, `${method} ${path}`).toBe(405);
      expect(reply.headers.allow, `${method} ${path}`).toBe(allow);
      expect(reply.body.error).toMatchObject({
        code: "METHOD_NOT_ALLOWED",
        retryable: false,
        details: { method, allow: allow.split(", ") },
      });
    }
    await expectNothingWritten();
  });

  it("a value over the store's value limit (inside the body limit) → 413 PAYLOAD_TOO_LARGE from the core", async () => {
    const small = await openStore({ memory: true, limits: { maxValueBytes: 1000 } });
    const s = createServer(small, { port: 0 });
    const res = await s.app.inject({
      method: "POST",
      url: "/v1/commit",
      payload: { key: "a", op: { type: "set", value: "x".repeat(2000) } },
    });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ error: { code: "PAYLOAD_TOO_LARGE", details: { limit: 1000 } } });
    expect(await small.read("a")).toMatchObject({ exists: false, version: 0 });
    await s.close();
    await small.close();
  });
});

describe("a request Node cannot take in (before any route)", () => {
  it("a query string over Node's header limit is 400 INVALID_INPUT with the error body, not a bare 431", async () => {
    const res = await fetch(`${url}/v1/watch?prefix=${"%F0%BF%BF%83".repeat(2_000)}`);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; retryable: boolean } };
    expect(body.error).toMatchObject({ code: "INVALID_INPUT", retryable: false });
  });
});
