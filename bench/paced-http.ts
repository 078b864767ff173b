/**
 * An open-loop HTTP load at a fixed rate, for latency at a given load. autocannon's own rate limit is a per-second
 * budget per connection (each connection fires its budget back to back, then idles until the next second), and it
 * back-fills latencies as if every request were 1 ms apart, so its rate-limited percentiles describe bursts, not the
 * rate. Here request i is due at i / rate seconds and goes out on the first free one of `connections` keep-alive
 * sockets; its latency counts from when it was due, so time spent queued behind a slow answer counts too. Requests
 * are written as raw HTTP/1.1 on plain sockets (as autocannon does), so the generator itself costs little CPU.
 */
import net from "node:net";
import { quantile } from "./report.js";

export interface PacedResult {
  sent: number;
  failed: number;
  /** Answered requests per second. */
  rate: number;
  p50: number;
  p99: number;
}

/** One keep-alive connection with at most one request in flight; answers are read by Content-Length. */
class Connection {
  private buffer: Buffer = Buffer.alloc(0);
  private due: number | undefined;
  readonly socket: net.Socket;

  constructor(
    url: URL,
    private readonly onAnswer: (due: number, ok: boolean) => void,
  ) {
    this.socket = net.connect(Number(url.port), url.hostname);
    this.socket.setNoDelay(true);
    this.socket.on("data", (chunk: Buffer) => this.read(chunk));
    this.socket.on("error", () => this.answer(false));
  }

  get free(): boolean {
    return this.due === undefined && !this.socket.destroyed;
  }

  send(request: string, due: number): void {
    this.due = due;
    this.socket.write(request);
  }

  private read(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const headEnd = this.buffer.indexOf("\r\n\r\n");
    if (headEnd < 0) return;
    const head = this.buffer.subarray(0, headEnd).toString("latin1");
    const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
    if (this.buffer.length < headEnd + 4 + length) return;
    this.buffer = this.buffer.subarray(headEnd + 4 + length);
    this.answer(head.startsWith("HTTP/1.1 200"));
  }

  private answer(ok: boolean): void {
    const due = this.due;
    if (due === undefined) return;
    this.due = undefined;
    this.onAnswer(due, ok);
  }
}

export async function pacedLoad(
  url: string,
  body: () => string,
  options: { rate: number; seconds: number; connections: number },
): Promise<PacedResult> {
  const target = new URL(url);
  const request = () => {
    const payload = body();
    return `POST ${target.pathname} HTTP/1.1\r\nhost: ${target.host}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`;
  };
  const latencies: number[] = [];
  let failed = 0;
  const waiting: number[] = []; // due times of requests that found every connection busy
  const total = Math.max(1, Math.floor(options.rate * options.seconds));
  let scheduled = 0;
  let answered = 0;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const connections: Connection[] = [];
  const onAnswer = (due: number, ok: boolean) => {
    if (ok) latencies.push(performance.now() - due);
    else failed++;
    if (++answered === total) finish();
    const next = waiting.shift();
    const free = connections.find((c) => c.free);
    if (next !== undefined && free) free.send(request(), next);
  };
  for (let i = 0; i < options.connections; i++) connections.push(new Connection(target, onAnswer));
  await Promise.all(connections.map((c) => new Promise((resolve) => c.socket.once("connect", resolve))));

  const t0 = performance.now();
  const tick = () => {
    const now = performance.now();
    while (scheduled < total && t0 + (scheduled / options.rate) * 1000 <= now) {
      const due = t0 + (scheduled / options.rate) * 1000;
      scheduled++;
      const free = connections.find((c) => c.free);
      if (free) free.send(request(), due);
      else waiting.push(due);
    }
    if (scheduled < total) setTimeout(tick, 1);
  };
  tick();
  await finished;
  const seconds = (performance.now() - t0) / 1000;
  for (const c of connections) c.socket.destroy();
  latencies.sort((a, b) => a - b);
  return {
    sent: total,
    failed,
    rate: latencies.length / seconds,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
  };
}
