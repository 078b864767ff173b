/**
 * Request bodies reach the core exactly as sent, or not at all (G6): a body that is not valid UTF-8, declared in
 * another charset, or holding a number JSON.parse would round is refused — 400 `INVALID_INPUT` or 415
 * `UNSUPPORTED_MEDIA_TYPE` — and writes nothing. Sent as raw bytes over real loopback HTTP.
 */
import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore, type StateStore } from "../../src/index.js";
import { createServer, type FencedServer } from "../../src/server/index.js";

let store: StateStore;
let server: FencedServer;
let url: string;

beforeAll(async () => {
  store = await openStore({ memory: true });
  server = createServer(store, { port: 0 });
  url = await server.listen();
});
afterAll(async () => {
  await server.close();
  await store.close();
});

interface Reply {
  status: number;
  body: { error?: { code: string; retryable: boolean; details: Record<string, unknown> } } & Record<string, unknown>;
}

function post(path: string, body: Buffer | string, contentType = "application/json"): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const bytes = typeof body === "string" ? Buffer.from(body, "utf8") : body;
    const req = httpRequest(
      `${url}${path}`,
      { method: "POST", headers: { "content-type": contentType, "content-length": bytes.length } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode!,
            body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as Reply["body"],
          }),
        );
      },
    );
    req.on("error", reject);
    req.end(bytes);
  });
}

/** A commit of `valueBytes` (raw JSON bytes of the value) to `key`. */
function commitBytes(key: string, valueBytes: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`{"key":"${key}","op":{"type":"set","value":`), valueBytes, Buffer.from("}}")]);
}

async function expectUnwritten(key: string): Promise<void> {
  expect(await store.read(key)).toMatchObject({ exists: false, version: 0 });
}

describe("G6: bodies that are not UTF-8 are refused, never stored altered", () => {
  const INVALID: [string, number[]][] = [
    ["a Latin-1 é (caf\\xE9)", [0x22, 0x63, 0x61, 0x66, 0xe9, 0x22]],
    ["an overlong /", [0x22, 0xc0, 0xaf, 0x22]],
    ["an encoded surrogate", [0x22, 0xed, 0xa0, 0x80, 0x22]],
    ["a sequence cut short", [0x22, 0xe2, 0x82, 0x22]],
    ["a stray continuation byte", [0x22, 0x80, 0x22]],
    ["a byte beyond U+10FFFF", [0x22, 0xf5, 0x80, 0x80, 0x80, 0x22]],
  ];
  for (const [name, bytes] of INVALID) {
    it(`${name} → 400 INVALID_INPUT, nothing written`, async () => {
      const key = `utf8/${INVALID.findIndex(([n]) => n === name)}`;
      const reply = await post("/v1/commit", commitBytes(key, Buffer.from(bytes)));
      expect(reply.status).toBe(400);
      expect(reply.body.error).toMatchObject({ code: "INVALID_INPUT", retryable: false });
      await expectUnwritten(key);
    });
  }

  it("a body declared in another charset → 415 UNSUPPORTED_MEDIA_TYPE, nothing written", async () => {
    for (const charset of ["iso-8859-1", "latin1", "utf-16", "windows-1252"]) {
      const reply = await post(
        "/v1/commit",
        commitBytes("charset/k", Buffer.from([0x22, 0x63, 0x61, 0x66, 0xe9, 0x22])),
        `application/json; charset=${charset}`,
      );
      expect(reply.status, charset).toBe(415);
      expect(reply.body.error, charset).toMatchObject({ code: "UNSUPPORTED_MEDIA_TYPE", retryable: false });
    }
    await expectUnwritten("charset/k");
  });

  it("valid UTF-8, with or without charset=utf-8, is stored byte for byte", async () => {
    const value = "café — 日本語 — 🦊 — \u{10FFFF}";
    for (const [i, contentType] of [
      "application/json",
      "application/json; charset=utf-8",
      "application/json;charset=UTF-8",
      'application/json; charset="utf-8"',
    ].entries()) {
      const reply = await post(
        "/v1/commit",
        JSON.stringify({ key: `ok/${i}`, op: { type: "set", value } }),
        contentType,
      );
      expect(reply.status, contentType).toBe(200);
      expect((await store.read(`ok/${i}`)).value).toBe(value);
    }
  });
});

describe("G6: numbers are never rounded: integers beyond ±(2^53−1) are refused", () => {
  const UNSAFE = [
    "9007199254740993",
    "-9007199254740993",
    "9007199254740992",
    "18446744073709551616",
    "1e16",
    "9007199254740993.0",
    "9.007199254740993e15",
    "1e400",
    "-1e400",
    "1.7976931348623157e308",
  ];
  for (const literal of UNSAFE) {
    it(`${literal} in a value → 400 INVALID_INPUT, nothing written`, async () => {
      const key = `num/${UNSAFE.indexOf(literal)}`;
      for (const value of [literal, `[1,${literal}]`, `{"a":{"b":${literal}}}`]) {
        const reply = await post("/v1/commit", commitBytes(key, Buffer.from(value)));
        expect(reply.status, value).toBe(400);
        expect(reply.body.error, value).toMatchObject({ code: "INVALID_INPUT", retryable: false });
      }
      await expectUnwritten(key);
    });
  }

  it("names where the number is, past strings with escaped quotes and backslashes", async () => {
    const value = String.raw`{"q\"":"x\\","list":[0,"]",{"n\\":[1,2,9007199254740993]}]}`;
    expect(() => JSON.parse(value) as unknown).not.toThrow();
    const reply = await post("/v1/commit", commitBytes("num/path", Buffer.from(value)));
    expect(reply.status).toBe(400);
    expect(reply.body.error!.details.issues).toEqual([
      { path: ["op", "value", "list", 2, "n\\", 2], message: expect.stringContaining("9007199254740993") },
    ]);
    await expectUnwritten("num/path");
  });

  it("an unsafe integer anywhere in the body (a precondition, a txn, a merge patch) → 400, nothing written", async () => {
    const bodies: [string, string][] = [
      ["/v1/commit", '{"key":"num/x","op":{"type":"set","value":1},"expectVersion":9007199254740993}'],
      ["/v1/commit", '{"key":"num/x","op":{"type":"increment","by":9007199254740993}}'],
      ["/v1/commit", '{"key":"num/x","op":{"type":"merge","patch":{"n":9007199254740993}}}'],
      ["/v1/commit", '{"key":"num/x","op":{"type":"append","items":[9007199254740993]}}'],
      ["/v1/txn", '{"requests":[{"key":"num/x","op":{"type":"set","value":[9007199254740993]}}]}'],
      ["/v1/claim", '{"key":"num/x","owner":"o","ttlMs":9007199254740993}'],
    ];
    for (const [path, body] of bodies) {
      const reply = await post(path, body);
      expect(reply.status, body).toBe(400);
      expect(reply.body.error, body).toMatchObject({ code: "INVALID_INPUT" });
    }
    await expectUnwritten("num/x");
    expect(await store.currentClaim("num/x")).toBeNull();
  });

  it("the largest safe integers, fractions, and digits inside strings pass unchanged (an integral float beyond 2^53 is refused too: it may have been rounded)", async () => {
    const value =
      '{"max":9007199254740991,"min":-9007199254740991,"f":0.1,"tiny":1.5e-300,"s":"9007199254740993","e":"1e400"}';
    const reply = await post("/v1/commit", commitBytes("num/ok", Buffer.from(value)));
    expect(reply.status).toBe(200);
    expect((await store.read("num/ok")).value).toEqual(JSON.parse(value));
  });
});

describe("a __proto__ member is data, as in the core (issue 15.8)", () => {
  it("a value with a __proto__ member is stored as sent; the request object itself admits no such field", async () => {
    const stored = await post(
      "/v1/commit",
      '{"key":"proto/set","op":{"type":"set","value":{"__proto__":{"x":1},"b":2}}}',
    );
    expect(stored.status).toBe(200);
    const value = (await store.read("proto/set")).value as object;
    expect(Object.hasOwn(value, "__proto__")).toBe(true);
    expect(JSON.stringify(value)).toBe('{"__proto__":{"x":1},"b":2}');
    expect(({} as { x?: number }).x).toBeUndefined();
    const refused = await post("/v1/commit", '{"__proto__":{"x":1},"key":"proto/req","op":{"type":"delete"}}');
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: "INVALID_INPUT" });
    await expectUnwritten("proto/req");
  });
});
