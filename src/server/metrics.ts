/**
 * The coordinator's counters, rendered as Prometheus text (exposition format 0.0.4) at `/metrics`. A handful of
 * series does not need a client library: requests by route and status, a latency histogram per route, commit
 * outcomes by code, and the requests and watch streams in flight.
 */

/** Latency bucket bounds, in seconds. */
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] as const;

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

export class ServerMetrics {
  private readonly requests = new Map<string, number>();
  private readonly latency = new Map<string, Histogram>();
  private readonly outcomes = new Map<string, number>();
  /** Requests being handled now (watch streams are counted apart). */
  inflight = 0;
  /** Open `/v1/watch` streams. */
  watchers = 0;

  /** Records one answered request. `route` is the route pattern, never the raw URL, to bound the label set. */
  observeRequest(method: string, route: string, status: number, seconds: number): void {
    bump(this.requests, labels({ method, route, status: String(status) }));
    const key = labels({ route });
    let h = this.latency.get(key);
    if (!h) this.latency.set(key, (h = { counts: BUCKETS.map(() => 0), sum: 0, count: 0 }));
    BUCKETS.forEach((le, i) => {
      if (seconds <= le) h.counts[i]!++;
    });
    h.sum += seconds;
    h.count++;
  }

  /** Records the outcome of a commit or txn: `committed`, `replayed`, or the error code. */
  observeCommit(outcome: string): void {
    bump(this.outcomes, labels({ outcome }));
  }

  /** The Prometheus text page. `lastSeq` is the store's newest event-log sequence number. */
  render(lastSeq: number): string {
    const out: string[] = [];
    family(out, "fenced_http_requests_total", "counter", "HTTP requests answered, by route and status.");
    for (const [l, v] of this.requests) out.push(`fenced_http_requests_total${l} ${v}`);
    family(out, "fenced_http_request_duration_seconds", "histogram", "Time to answer a request, by route.");
    for (const [l, h] of this.latency) {
      const inner = l.slice(1, -1);
      BUCKETS.forEach((le, i) => out.push(`fenced_http_request_duration_seconds_bucket{${inner},le="${le}"} ${h.counts[i]}`));
      out.push(`fenced_http_request_duration_seconds_bucket{${inner},le="+Inf"} ${h.count}`);
      out.push(`fenced_http_request_duration_seconds_sum${l} ${h.sum}`);
      out.push(`fenced_http_request_duration_seconds_count${l} ${h.count}`);
    }
    family(out, "fenced_commits_total", "counter", "Commit and txn outcomes: committed, replayed, or the error code.");
    for (const [l, v] of this.outcomes) out.push(`fenced_commits_total${l} ${v}`);
    family(out, "fenced_http_requests_in_flight", "gauge", "Requests being handled now.");
    out.push(`fenced_http_requests_in_flight ${this.inflight}`);
    family(out, "fenced_watch_streams", "gauge", "Open watch (SSE) streams.");
    out.push(`fenced_watch_streams ${this.watchers}`);
    family(out, "fenced_event_log_last_seq", "gauge", "Sequence number of the newest event-log entry.");
    out.push(`fenced_event_log_last_seq ${lastSeq}`);
    return `${out.join("\n")}\n`;
  }
}

function family(out: string[], name: string, type: string, help: string): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
}

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

/** `{a="1",b="2"}` with Prometheus escaping. */
function labels(values: Record<string, string>): string {
  const parts = Object.entries(values).map(
    ([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`,
  );
  return `{${parts.join(",")}}`;
}
