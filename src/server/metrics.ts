/**
 * The coordinator's metrics at `/metrics`, kept by prom-client in a registry of this server's own (two servers in one
 * process never share series): requests by route and status, a latency histogram per route, commit outcomes by code,
 * the requests and watch streams in flight, and the event log's last seq (read from the store at scrape time).
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";

/** Latency bucket bounds, in seconds. */
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export class ServerMetrics {
  /** The registry `/metrics` renders; add your own collectors to it to publish them beside ours. */
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: "fenced_http_requests_total",
    help: "HTTP requests answered, by route and status.",
    labelNames: ["method", "route", "status"] as const,
    registers: [this.registry],
  });
  private readonly latency = new Histogram({
    name: "fenced_http_request_duration_seconds",
    help: "Time to answer a request, by route.",
    labelNames: ["route"] as const,
    buckets: BUCKETS,
    registers: [this.registry],
  });
  private readonly outcomes = new Counter({
    name: "fenced_commits_total",
    help: "Commit and txn outcomes: committed, replayed, or the error code.",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });
  /** Requests being handled now (watch streams are counted apart). */
  inflight = 0;
  /** Open `/v1/watch` streams. */
  watchers = 0;

  /**
   * `lastSeq` is read at every scrape: the store's newest event-log sequence number; `swept` too: what the lifecycle
   * sweeps removed, by kind (threads, checkpoints, items), from their counters in the store.
   */
  constructor(
    lastSeq: () => Promise<number> = async () => 0,
    swept: () => Promise<Record<string, number>> = async () => ({}),
  ) {
    const gauge = (name: string, help: string, read: () => number | Promise<number>) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        async collect() {
          this.set(await read());
        },
      });
    gauge("fenced_http_requests_in_flight", "Requests being handled now.", () => this.inflight);
    gauge("fenced_watch_streams", "Open watch (SSE) streams.", () => this.watchers);
    gauge("fenced_event_log_last_seq", "Sequence number of the newest event-log entry.", lastSeq);
    new Gauge({
      name: "fenced_lifecycle_swept",
      help: "What thread and store TTL sweeps removed since the store began, by kind (threads, checkpoints, items).",
      labelNames: ["kind"] as const,
      registers: [this.registry],
      async collect() {
        for (const [kind, n] of Object.entries(await swept())) this.set({ kind }, n);
      },
    });
  }

  /** Records one answered request. `route` is the route pattern, never the raw URL, to bound the label set. */
  observeRequest(method: string, route: string, status: number, seconds: number): void {
    this.requests.inc({ method, route, status: String(status) });
    this.latency.observe({ route }, seconds);
  }

  /** Records the outcome of a commit or txn: `committed`, `replayed`, or the error code. */
  observeCommit(outcome: string): void {
    this.outcomes.inc({ outcome });
  }

  /** The Prometheus text page and its content type. */
  async render(): Promise<{ contentType: string; text: string }> {
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }
}
