/**
 * An open-loop HTTP load at a fixed rate, for latency at a given load. autocannon's own rate limit is a per-second
 * budget per connection (each connection fires its budget back to back, then idles until the next second), and it
 * back-fills latencies as if every request were 1 ms apart, so its rate-limited percentiles describe bursts, not the
 * rate. Here request i is due at i / rate seconds, sent on one of `connections` keep-alive sockets as soon as one is
 * free, and its latency counts from when it was due: time spent queued behind a slow answer counts too.
 */
import http from "node:http";
import { quantile } from "./report.js";

export interface PacedResult {
  sent: number;
  failed: number;
  /** Achieved request rate (answered / seconds). */
  rate: number;
  p50: number;
  p99: number;
}

export async function pacedLoad(
  url: string,
  body: () => string,
  options: { rate: number; seconds: number; connections: number },
): Promise<PacedResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections });
  const target = new URL(url);
  const latencies: number[] = [];
  let failed = 0;
  let inFlight = 0;
  const queue: number[] = []; // due times of requests waiting for a free connection
  const t0 = performance.now();
  const total = Math.floor(options.rate * options.seconds);
  let scheduled = 0;

  const send = (due: number) => {
    inFlight++;
    const payload = body();
    const req = http.request(
      { host: target.hostname, port: target.port, path: target.pathname, method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } },
      (res) => {
        res.resume();
        res.on("end", () => {
          if (res.statusCode === 200) latencies.push(performance.now() - due);
          else failed++;
          done();
        });
      },
    );
    req.on("error", () => {
      failed++;
      done();
    });
    req.end(payload);
  };
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const done = () => {
    inFlight--;
    const next = queue.shift();
    if (next !== undefined) send(next);
    else if (scheduled === total && inFlight === 0) finish();
  };
  const tick = () => {
    const now = performance.now();
    while (scheduled < total && t0 + (scheduled / options.rate) * 1000 <= now) {
      const due = t0 + (scheduled / options.rate) * 1000;
      scheduled++;
      if (inFlight < options.connections) send(due);
      else queue.push(due);
    }
    if (scheduled < total) setTimeout(tick, 1);
    else if (inFlight === 0) finish();
  };
  tick();
  await finished;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    sent: total,
    failed,
    rate: latencies.length / ((performance.now() - t0) / 1000),
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
  };
}
