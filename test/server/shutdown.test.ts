/**
 * Graceful shutdown: `close()` stops accepting, lets every in-flight commit finish and answer (G6), closes each
 * connection as its last response goes out, executes nothing that arrives once shutdown has begun, and only then
 * resolves. No client can hold it open: a connection still busy when the grace period ends is cut, so `fenced serve`
 * exits after SIGTERM even when a client never finishes sending its request.
 */
import { spawn } from "node:child_process";
import { connect } from "node:net";
import { describe, expect, it } from "vitest";
import { StateStore } from "../../src/index.js";
import { MemoryBackend, type Backend } from "../../src/backend.js";
import { createServer } from "../../src/server/index.js";
import { ROOT } from "../support/processes.js";

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
    snapshot: (fn) => inner.snapshot(fn),
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
  return `POST /v1/commit HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
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

describe("shutdown cannot be held open by a client", () => {
  it("a request whose body stops arriving is ended (408) after requestTimeoutMs, with nothing executed", async () => {
    const store = new StateStore(new MemoryBackend());
    const server = createServer(store, { port: 0, requestTimeoutMs: 300 });
    const url = new URL(await server.listen());
    const socket = connect(Number(url.port), url.hostname);
    let raw = "";
    socket.setEncoding("utf8");
    socket.on("data", (c: string) => (raw += c));
    const closed = new Promise<void>((r) => socket.on("close", () => r()));
    const request = commitRequest("stalled", "never complete");
    socket.write(request.slice(0, -10));
    await closed;
    expect(raw).toMatch(/^HTTP\/1.1 408 /);
    expect(await store.read("stalled")).toMatchObject({ exists: false, version: 0 });
    await server.close();
    await store.close();
  });

  it("`fenced serve` exits 0 after SIGTERM although a client keeps its request body half-sent", async () => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "src/cli/main.ts", "serve", "--memory", "--port", "0", "--shutdown-grace-ms", "1000"],
      { cwd: ROOT, stdio: "pipe" },
    );
    let stdout = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      await expect.poll(() => stdout, { timeout: 20_000 }).toMatch(/listening on http/);
      const url = new URL(/listening on (http:\/\/\S+)/.exec(stdout)![1]!);
      // One client sends its headers and half of the body it announced, another only half of its headers.
      const body = JSON.stringify({ key: "half", op: { type: "set", value: "x".repeat(100) } });
      const halfBody = connect(Number(url.port), url.hostname);
      halfBody.write(
        `POST /v1/commit HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 40)}`,
      );
      const halfHeaders = connect(Number(url.port), url.hostname);
      halfHeaders.write(`POST /v1/commit HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: appl`);
      const closedByServer = [halfBody, halfHeaders].map(
        (s) => new Promise<void>((r) => s.on("close", () => r()).on("error", () => undefined)),
      );
      // The half-sent request is in flight (its headers were read) before the signal arrives: the gauge counts it
      // and the /metrics request asking.
      const inFlight = async () =>
        /^fenced_http_requests_in_flight (\d+)$/m.exec(await fetch(`${url.origin}/metrics`).then((r) => r.text()))?.[1];
      await expect.poll(inFlight, { timeout: 10_000 }).toBe("2");
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
      await Promise.all(closedByServer);
      expect(stdout).toContain("SIGTERM: finishing in-flight requests");
    } finally {
      child.kill("SIGKILL");
    }
  }, 60_000);
});
