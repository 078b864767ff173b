/**
 * Reading the event log for the inspector: pages in either direction with filters, and counts over time.
 *
 * The backend contract reads events oldest first after a seq (`readEvents`), and no backend indexes events by key, so
 * a filtered read scans anyway. The inspector therefore scans seq windows itself, newest first, without a prefix (a
 * prefix given to `readEvents` would let SQLite run from the window's start to the end of the log looking for enough
 * matches), and filters here. Each request scans at most `SCAN_BUDGET` seqs: a sparse filter on a large log answers
 * with fewer events and a cursor, and the page asks again, so no request holds the store for long.
 */
import type { Backend } from "../core/backend.js";
import { OUTCOMES, type Outcome, type StateEvent } from "../core/schemas.js";
import type { CountsQuery, EventsQuery } from "./schemas.js";

/** Most seqs one request looks at, by default. */
export const SCAN_BUDGET = 20_000;
const MAX_WINDOW = 5_000;

/** A page of the event log. */
export interface EventsPage {
  /** Newest first for `before`/no cursor, oldest first for `after`. */
  events: StateEvent[];
  /** The cursor for the next page (`before` or `after`, whichever was used), or `null` at the end of the log. A page
   * may hold fewer than `limit` events and still have a cursor: the scan budget ran out first. */
  next: number | null;
  /** The newest seq when the page was read: open the live stream from `lastSeq + 1` to miss nothing. */
  lastSeq: number;
}

/** Outcome counts per time bucket over a window ending now. */
export interface EventCounts {
  from: number;
  bucketMs: number;
  /** One entry per bucket, oldest first: the count of each outcome. */
  buckets: Record<Outcome, number>[];
  /** True when the scan budget ran out before the window's start: older buckets may be short. */
  truncated: boolean;
}

/** The filter an events query describes. */
export function eventFilter(q: Pick<EventsQuery, "prefix" | "key" | "outcome">): (e: StateEvent) => boolean {
  const outcomes = q.outcome.length > 0 ? new Set<string>(q.outcome) : undefined;
  return (e) =>
    (q.key === undefined ? e.key.startsWith(q.prefix) : e.key === q.key) &&
    (outcomes === undefined || outcomes.has(e.outcome));
}

/** One page of events matching `q`, looking at no more than about `budget` seqs. */
export async function readEventsPage(backend: Backend, q: EventsQuery, budget = SCAN_BUDGET): Promise<EventsPage> {
  const lastSeq = await backend.lastSeq();
  const match = eventFilter(q);
  if (q.after !== undefined) return { ...(await forward(backend, q.after, q.limit, match, budget)), lastSeq };
  const start = q.before === undefined ? lastSeq : Math.min(q.before - 1, lastSeq);
  return { ...(await backward(backend, start, q.limit, match, budget)), lastSeq };
}

/** Events with seq > `after`, oldest first. */
async function forward(
  backend: Backend,
  after: number,
  limit: number,
  match: (e: StateEvent) => boolean,
  budget: number,
) {
  const events: StateEvent[] = [];
  let cursor = after;
  const window = Math.min(MAX_WINDOW, budget);
  for (let scanned = 0; scanned < budget; ) {
    const rows = await backend.readEvents({ prefix: "", afterSeq: cursor, limit: window });
    for (const e of rows) {
      cursor = e.seq;
      if (!match(e)) continue;
      events.push(e);
      if (events.length === limit) return { events, next: cursor };
    }
    if (rows.length < window) return { events, next: null }; // the end of the log, for now: the stream goes on
    scanned += rows.length;
  }
  return { events, next: cursor };
}

/** Events with seq <= `hi`, newest first. */
async function backward(
  backend: Backend,
  hi: number,
  limit: number,
  match: (e: StateEvent) => boolean,
  budget: number,
) {
  const events: StateEvent[] = [];
  const floor = await oldestSeq(backend);
  const maxWindow = Math.min(MAX_WINDOW, budget);
  let window = Math.min(maxWindow, Math.max(200, limit * 2));
  for (let scanned = 0; hi >= floor && scanned < budget; ) {
    const lo = Math.max(floor - 1, hi - window);
    for (const e of await windowNewestFirst(backend, lo, hi)) {
      if (!match(e)) continue;
      events.push(e);
      if (events.length === limit) return { events, next: e.seq };
    }
    scanned += hi - lo;
    hi = lo;
    window = Math.min(maxWindow, window * 2); // a sparse filter: look further per call
  }
  return { events, next: hi >= floor ? hi + 1 : null };
}

/** The events with lo < seq <= hi, newest first. There are at most hi - lo of them, so one read returns them all. */
async function windowNewestFirst(backend: Backend, lo: number, hi: number): Promise<StateEvent[]> {
  if (hi <= lo) return [];
  const rows = await backend.readEvents({ prefix: "", afterSeq: lo, limit: hi - lo });
  const out: StateEvent[] = [];
  for (let i = rows.length - 1; i >= 0; i--) if (rows[i]!.seq <= hi) out.push(rows[i]!);
  return out;
}

/** The oldest retained seq (retention drops old events, so the log rarely starts at 1); 1 for an empty log. */
async function oldestSeq(backend: Backend): Promise<number> {
  const [first] = await backend.readEvents({ prefix: "", afterSeq: 0, limit: 1 });
  return first?.seq ?? 1;
}

/** Counts per outcome over the last `windowMs` before `now`, scanning newest first. */
export async function countEvents(
  backend: Backend,
  q: CountsQuery,
  now: number,
  budget = SCAN_BUDGET * 5,
): Promise<EventCounts> {
  const from = now - q.windowMs;
  const bucketMs = q.windowMs / q.buckets;
  const buckets = Array.from({ length: q.buckets }, () => emptyCounts());
  let hi = await backend.lastSeq();
  const floor = await oldestSeq(backend);
  let scanned = 0;
  while (hi >= floor) {
    if (scanned >= budget) return { from, bucketMs, buckets, truncated: true };
    const lo = Math.max(floor - 1, hi - MAX_WINDOW);
    let older = 0;
    const window = await windowNewestFirst(backend, lo, hi);
    for (const e of window) {
      if (e.ts < from) {
        older++;
        continue;
      }
      if (!e.key.startsWith(q.prefix)) continue;
      const i = Math.min(q.buckets - 1, Math.floor((e.ts - from) / bucketMs));
      buckets[i]![e.outcome]++;
    }
    // Timestamps come from several writers' clocks, so one old event does not end the scan; a whole old window does.
    if (window.length > 0 && older === window.length) break;
    scanned += hi - lo;
    hi = lo;
  }
  return { from, bucketMs, buckets, truncated: false };
}

function emptyCounts(): Record<Outcome, number> {
  return Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
}
