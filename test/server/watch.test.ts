/**
 * `GET /v1/watch`: the event log as server-sent events, in seq order, filtered by prefix, resumable with
 * Last-Event-ID, and ended (not left hanging) by the server's shutdown.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { op, openStore, type StateEvent, type StateStore } from "../../src/index.js";
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

/** Reads SSE frames from a response until `count` `state` events arrived (or the stream ended). */
async function readEvents(
  res: Response,
  count: number,
): Promise<{ events: (StateEvent & { id: string })[]; ended: boolean }> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const events: (StateEvent & { id: string })[] = [];
  let buffer = "";
  while (events.length < count) {
    const { value, done } = await reader.read();
    if (done) return { events, ended: true };
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const fields = Object.fromEntries(
        frame
          .split("\n")
          .filter((l) => !l.startsWith(":"))
          .map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 2)]),
      );
      if (fields.event === "state") events.push({ ...(JSON.parse(fields.data!) as StateEvent), id: fields.id! });
    }
  }
  reader.releaseLock();
  return { events, ended: false };
}

describe("watch over SSE", () => {
  it("streams every outcome under the prefix in seq order, with id = seq", async () => {
    const start = (await store.backend.lastSeq()) + 1;
    const res = await fetch(`${url}/v1/watch?prefix=w1/&fromSeq=${start}`);
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    await store.commit({ key: "w1/a", op: op.set(1) });
    await store.commit({ key: "other/x", op: op.set(1) });
    await store.commit({ key: "w1/a", op: op.set(2), expectVersion: 0 }).catch(() => {});
    await store.commit({ key: "w1/b", op: op.increment(1), opId: "w1-op" });
    await store.commit({ key: "w1/b", op: op.increment(1), opId: "w1-op" });
    const { events } = await readEvents(res, 4);
    await res.body!.cancel();
    expect(events.map((e) => [e.key, e.outcome])).toEqual([
      ["w1/a", "committed"],
      ["w1/a", "conflict"],
      ["w1/b", "committed"],
      ["w1/b", "replayed"],
    ]);
    expect(events.map((e) => Number(e.id))).toEqual(events.map((e) => e.seq));
    expect(events[3]).toMatchObject({ opId: "w1-op", version: 1 });
  });

  it("resumes after the Last-Event-ID it is given", async () => {
    const first = await store.commit({ key: "w2/k", op: op.set("a") });
    await store.commit({ key: "w2/k", op: op.set("b") });
    await store.commit({ key: "w2/k", op: op.set("c") });
    const res = await fetch(`${url}/v1/watch?prefix=w2/`, { headers: { "last-event-id": String(first.seq) } });
    const { events } = await readEvents(res, 2);
    await res.body!.cancel();
    expect(events.map((e) => e.version)).toEqual([2, 3]);
  });

  it("ignores an empty Last-Event-ID (an EventSource that saw no event yet sends one) and starts at ?fromSeq", async () => {
    await store.commit({ key: "w3/k", op: op.set("old") });
    const from = await store.commit({ key: "w3/k", op: op.set("new") });
    for (const lastEventId of ["", " "]) {
      const res = await fetch(`${url}/v1/watch?prefix=w3/&fromSeq=${from.seq}`, {
        headers: { "last-event-id": lastEventId },
      });
      expect(res.status).toBe(200);
      const { events } = await readEvents(res, 1);
      await res.body!.cancel();
      expect(
        events.map((e) => e.seq),
        `Last-Event-ID: "${lastEventId}"`,
      ).toEqual([from.seq]);
    }
  });

  it("refuses a Last-Event-ID that is not a non-negative integer with 400 INVALID_INPUT before any stream opens", async () => {
    for (const lastEventId of ["abc", "1.5", "-1", "1e3", "0x10", "+3", "3 4", "99999999999999999999"]) {
      const res = await fetch(`${url}/v1/watch?prefix=w4/`, { headers: { "last-event-id": lastEventId } });
      expect(res.status, lastEventId).toBe(400);
      expect(await res.json()).toMatchObject({
        error: { code: "INVALID_INPUT", retryable: false, details: { issues: [{ path: ["Last-Event-ID"] }] } },
      });
    }
    expect(server.metrics.watchers).toBe(0);
  });

  it("is ended by the server's shutdown, so close() does not hang on open streams", async () => {
    const s2store = await openStore({ memory: true });
    const s2 = createServer(s2store, { port: 0 });
    const base = await s2.listen();
    const res = await fetch(`${base}/v1/watch`);
    const reading = readEvents(res, 1);
    for (let i = 0; i < 100 && s2.metrics.watchers === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(s2.metrics.watchers).toBe(1);
    const started = Date.now();
    await s2.close();
    expect(Date.now() - started).toBeLessThan(5000);
    expect((await reading).ended).toBe(true);
    expect(s2.metrics.watchers).toBe(0);
    await s2store.close();
  });
});
