/**
 * The inspector's auth is the coordinator's (src/server/auth.ts): loopback clients only without a token, a bearer
 * token on every data route with one. The page's own files carry no data and stay open so the page can ask for the
 * token. Without a token, a request for a non-loopback Host is refused (a rebound DNS name must not read the store).
 */
import { afterEach, describe, expect, it } from "vitest";
import { op, openStore, type StateStore } from "../../src/index.js";
import { createInspector } from "../../src/inspect/server.js";

const DATA_ROUTES = [
  "/api/summary",
  "/api/keys",
  "/api/key?key=a%2F1",
  "/api/events",
  "/api/events/counts",
  "/api/threads",
  "/api/thread?thread=t",
  "/api/thread/lineage?thread=t",
  "/api/thread/checkpoint?thread=t&id=x",
  "/v1/watch",
];

let store: StateStore;
afterEach(async () => {
  await store?.close();
});

describe("inspect auth", () => {
  it("with a token: every data route and the stream answer 401 without it or with a wrong one; the page's files are open", async () => {
    store = await openStore({ memory: true });
    await store.commit({ key: "a/1", op: op.set(1) });
    const { app } = createInspector(store, { port: 0, token: "tok-123" });
    for (const url of DATA_ROUTES) {
      for (const headers of [{}, { authorization: "Bearer nope" }]) {
        const res = await app.inject({ method: "GET", url, headers });
        expect([url, res.statusCode, res.json()]).toMatchObject([url, 401, { error: { code: "UNAUTHORIZED" } }]);
      }
    }
    const ok = await app.inject({ method: "GET", url: "/api/keys", headers: { authorization: "Bearer tok-123" } });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ keys: [{ key: "a/1" }] });
    for (const url of ["/", "/page/app.js", "/page/style.css"])
      expect((await app.inject({ method: "GET", url })).statusCode).toBe(200);
    expect((await app.inject({ method: "GET", url: "/page/../server.ts" })).statusCode).toBe(404);
    await app.close();
  });

  it("without a token: loopback only, and only for a loopback Host (no DNS rebinding)", async () => {
    store = await openStore({ memory: true });
    const { app } = createInspector(store, { port: 0 });
    expect(
      (await app.inject({ method: "GET", url: "/api/summary", headers: { host: "127.0.0.1:7374" } })).statusCode,
    ).toBe(200);
    expect(
      (await app.inject({ method: "GET", url: "/api/summary", headers: { host: "localhost:7374" } })).statusCode,
    ).toBe(200);
    expect((await app.inject({ method: "GET", url: "/api/summary", headers: { host: "[::1]:7374" } })).statusCode).toBe(
      200,
    );
    const rebound = await app.inject({
      method: "GET",
      url: "/api/summary",
      headers: { host: "attacker.example:7374" },
    });
    expect([rebound.statusCode, rebound.json()]).toMatchObject([403, { error: { code: "FORBIDDEN" } }]);
    const remote = await app.inject({ method: "GET", url: "/api/summary", remoteAddress: "10.1.2.3" });
    expect([remote.statusCode, remote.json()]).toMatchObject([403, { error: { code: "FORBIDDEN" } }]);
    await app.close();
  });

  it("refuses to bind a non-loopback address without a token (INVALID_INPUT), as fenced serve does", async () => {
    store = await openStore({ memory: true });
    expect(() => createInspector(store, { host: "0.0.0.0" })).toThrow(/refusing to bind 0\.0\.0\.0 without a token/);
    expect(() => createInspector(store, { host: "0.0.0.0", token: "" })).toThrow(/must not be empty/);
  });
});
