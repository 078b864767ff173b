/**
 * Graceful shutdown: `close()` stops accepting, lets every in-flight commit finish and answer (G6), closes each
 * connection as its last response goes out, executes nothing that arrives once shutdown has begun, and only then
 * resolves.
 */
import { connect } from "node:net";
import { describe, expect, it } from "vitest";
import { MemoryBackend, StateStore, type Backend } from "../../src/index.js";
import { createServer } from "../../src/server/index.js";

/** A memory backend whose transactions wait until `open()` is called. */
function gatedBackend(): { backend: Backend; open(): void; waiting(): number } {
  const inner = new MemoryBackend();
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let waiting = 0;
  const backend: Backend = {
    kind: "gated-memory",
    async transact(fn) {
      waiting++;
      await gate;
      waiting--;
      return inner.transact(fn);
    },
    getRecord: (k) => inner.getRecord(k),
    getClaim: (k) => inner.getClaim(k),
    listRecords: (q) => inner.listRecords(q),
    readEvents: (q) => inner.readEvents(q),
    lastSeq: () => inner.lastSeq(),
    subscribe: (l) => inner.subscribe(l),
    purge: (q) => inner.purge(q),
    close: () => inner.close(),
  };
  return { backend, open: release, waiting: () => waiting };
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(cond()).toBe(true);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function commitRequest(key: string, value: string): string {
  const body = JSON.stringify({ key, op: { type: "set", value } });
  return `POST /v1/commit HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

describe("graceful shutdown", () => {
  it("finishes an in-flight commit before close() resolves, and executes nothing that arrives after it began", async () => {
    const gated = gatedBackend();
    const store = new StateStore(gated.backend);
    const server = createServer(store, { port: 0 });
    const url = new URL(await server.listen());

    const socket = connect(Number(url.port), url.hostname);
    let raw = "";
    socket.setEncoding("utf8");
    socket.on("data", (c: string) => (raw += c));
    socket.write(commitRequest("inflight", "landed"));
    await until(() => gated.waiting() === 1); // held inside its transaction

    let closed = false;
    const closing = server.close().then(() => (closed = true));
    await sleep(100);
    // A second commit pipelined on the same connection after shutdown began must not run.
    socket.write(commitRequest("late", "must not land"));
    await sleep(100);
    expect(closed).toBe(false); // still waiting for the in-flight commit
    await expect(fetch(`${url.origin}/healthz`)).rejects.toThrow(); // no new connections

    gated.open();
    await closing;
    await until(() => socket.readableEnded);
    const responses = raw.split("HTTP/1.1 ").slice(1);
    expect(responses[0]).toMatch(/^200 /);
    expect(responses[0]).toMatch(/connection: close/i);
    expect(JSON.parse(responses[0]!.slice(responses[0]!.indexOf("{")))).toMatchObject({ key: "inflight", version: 1 });
    // HTTP/1.1 pipelining: a request left unanswered when the server closes the connection was not processed.
    expect(responses).toHaveLength(1);
    expect(await store.read("inflight")).toMatchObject({ exists: true, value: "landed", version: 1 });
    expect(await store.read("late")).toMatchObject({ exists: false, version: 0 });
    socket.destroy();
    await store.close();
  });

  it("does not wait for connections that never sent a request, nor for idle keep-alive ones", async () => {
    const store = new StateStore(new MemoryBackend());
    const server = createServer(store, { port: 0 });
    const url = new URL(await server.listen());
    const silent = connect(Number(url.port), url.hostname);
    const keptAlive = connect(Number(url.port), url.hostname);
    keptAlive.write(commitRequest("k", "v"));
    await new Promise((r) => silent.once("connect", r));
    await new Promise((r) => keptAlive.once("data", r));
    const started = Date.now();
    await server.close();
    expect(Date.now() - started).toBeLessThan(2000); // not the 60 s header timeout nor the 72 s keep-alive
    silent.destroy();
    keptAlive.destroy();
    await store.close();
  });
});
