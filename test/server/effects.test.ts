/** The effect fence over HTTP (POST /v1/effects/intent and /v1/effects/outcome): the effect runs in the client. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { op, openStore, type StateStore } from "../../src/index.js";
import { createServer, type FencedServer } from "../../src/server/index.js";

let store: StateStore;
let server: FencedServer;
beforeAll(async () => {
  store = await openStore({ memory: true });
  server = createServer(store, { port: 0 });
});
afterAll(async () => {
  await server.close();
  await store.close();
});

async function post(url: string, payload: object) {
  const res = await server.app.inject({
    method: "POST",
    url,
    payload,
    headers: { "content-type": "application/json" },
  });
  return { status: res.statusCode, body: res.json() as Record<string, unknown> };
}

describe("effects over HTTP", () => {
  it("intent → proceed, outcome → done; a retry of the intent reports done and does not proceed", async () => {
    await store.commit({ key: "approvals/1", op: op.set("approved") });
    const guards = [{ key: "approvals/1", version: 1 }];
    const intent = await post("/v1/effects/intent", { opId: "email-1", guards, owner: "agent" });
    expect(intent).toMatchObject({ status: 200, body: { proceed: true, attempt: 1, key: "effects/email-1" } });
    const outcome = await post("/v1/effects/outcome", {
      opId: "email-1",
      attempt: 1,
      status: "done",
      result: { id: "m-1" },
    });
    expect(outcome).toMatchObject({ status: 200, body: { record: { status: "done", result: { id: "m-1" } } } });
    expect(await post("/v1/effects/intent", { opId: "email-1", guards })).toMatchObject({
      status: 200,
      body: { proceed: false, status: "done", previous: { result: { id: "m-1" } } },
    });
  });

  it("a moved input is 409 VERSION_CONFLICT and a stolen claim 409 FENCED, with nothing recorded", async () => {
    await store.commit({ key: "approvals/2", op: op.set("approved") });
    await store.commit({ key: "approvals/2", op: op.set("revoked") });
    const moved = await post("/v1/effects/intent", { opId: "email-2", guards: [{ key: "approvals/2", version: 1 }] });
    expect(moved).toMatchObject({
      status: 409,
      body: { error: { code: "VERSION_CONFLICT", retryable: true, details: { key: "approvals/2" } } },
    });
    const zombie = await store.claim({ key: "jobs/2", owner: "zombie", ttlMs: 60_000 });
    await store.claim({ key: "jobs/2", owner: "thief", ttlMs: 60_000, steal: true });
    const fenced = await post("/v1/effects/intent", {
      opId: "pay-2",
      guards: [{ key: "jobs/2", epoch: zombie.epoch }],
    });
    expect(fenced).toMatchObject({ status: 409, body: { error: { code: "FENCED", retryable: false } } });
    expect(await store.list("effects/")).toHaveLength(1);
  });

  it("bad input is 400 INVALID_INPUT", async () => {
    expect((await post("/v1/effects/intent", { opId: "" })).body).toMatchObject({ error: { code: "INVALID_INPUT" } });
    expect((await post("/v1/effects/outcome", { opId: "x", attempt: 0, status: "done" })).body).toMatchObject({
      error: { code: "INVALID_INPUT" },
    });
    expect((await post("/v1/effects/outcome", { opId: "never", attempt: 1, status: "done" })).body).toMatchObject({
      error: { code: "INVALID_INPUT" },
    });
  });
});
