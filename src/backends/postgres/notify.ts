/**
 * Cross-host wake-ups for `watch`: one dedicated connection per store `LISTEN`s while anyone watches, and a
 * transaction that appends to the event log sends `NOTIFY` on the schema's channel on its connection once its COMMIT
 * succeeded, in a small transaction of its own that the committer does not wait for (tx.ts, `notifyCommitted`, says
 * why) — when some connection listens. A listening connection holds the schema's listen lock in shared mode (session
 * level, taken before its `LISTEN`, gone with the connection); the committer's last batch asks whether it is held
 * (`listenProbe`, one cheap statement before its COMMIT) and sends no NOTIFY nobody would receive: without watchers
 * on any host, a commit costs two round trips instead of three (bench/README.md, issue 18's eighth round).
 *
 * A lost notification costs only latency: `watch` also polls (`pollMs`), and every (re)connect wakes the watchers once
 * to read whatever landed while nobody was listening. A commit whose probe ran just before a listener took the lock
 * is such a loss: its event is read at the listener's first wake-up if it committed before it, or at the next poll or
 * NOTIFY if after.
 */
import { createHash } from "node:crypto";
import pg from "pg";
import { lockId } from "./locks.js";
import { quoteIdent } from "./schema.js";
import { prepared, text } from "./sql.js";

/** The NOTIFY channel of a schema (an identifier of at most 63 bytes whatever the schema's name). */
export function commitChannel(schema: string): string {
  return `fenced_commits_${createHash("sha256").update(schema).digest("hex").slice(0, 16)}`;
}

/**
 * The statements of a schema's wake-ups: its channel, the NOTIFY a committer sends, and the listen lock with its probe.
 * `listened` is false only when the probe could take the lock exclusively (so no listener holds it), which it then
 * releases at once; a committer that finds it taken by another committer's probe just sends a NOTIFY it did not need.
 */
export function notifySql(schema: string) {
  const channel = commitChannel(schema);
  const lock = lockId(schema, "listen", "");
  const probe = prepared(
    "listened",
    [],
    `SELECT CASE WHEN pg_try_advisory_lock(${lock}) THEN NOT pg_advisory_unlock(${lock}) ELSE true END AS listened`,
  );
  return {
    channel,
    /** Sent right behind a COMMIT that appended (tx.ts, `notifyCommitted`), committed without waiting for its flush. */
    notify: `SELECT set_config('synchronous_commit', 'off', true), pg_notify(${text(channel)}, '')`,
    /** Taken (shared, for the session) by a listening connection before its LISTEN. */
    hold: `SELECT pg_advisory_lock_shared(${lock})`,
    /** Whether any connection holds the listen lock: one row, `listened`. */
    probe: probe.run(),
    /** The statements above that run as `EXECUTE` (sql.ts, `Prepared`). */
    prepared: [probe.statement],
  };
}

const MAX_RECONNECT_DELAY_MS = 2000;

/** Holds the LISTEN connection while started; reconnects with backoff when it drops. */
export class CommitListener {
  private client: pg.Client | undefined;
  private running = false;
  /** Bumped by `stop`: a connection attempt from an earlier start discards itself. */
  private generation = 0;
  private timer: NodeJS.Timeout | undefined;
  private connecting: Promise<void> | undefined;

  /** `hold`: the statement that takes the schema's listen lock (`notifySql`), run before LISTEN. */
  constructor(
    private readonly config: pg.ClientConfig,
    private readonly channel: string,
    private readonly hold: string,
    private readonly onCommit: () => void,
  ) {}

  /** Starts listening (idempotent). Resolves once LISTEN is active or the first attempt failed. */
  start(): Promise<void> {
    if (this.running) return this.connecting ?? Promise.resolve();
    this.running = true;
    return this.connect(0, this.generation);
  }

  /** Stops listening and closes the connection. */
  async stop(): Promise<void> {
    this.running = false;
    this.generation++;
    clearTimeout(this.timer);
    const client = this.client;
    this.client = undefined;
    await this.connecting;
    await client?.end().catch(() => undefined);
  }

  private connect(attempt: number, generation: number): Promise<void> {
    const connecting = this.open(attempt, generation).finally(() => {
      if (this.connecting === connecting) this.connecting = undefined;
    });
    this.connecting = connecting;
    return connecting;
  }

  private async open(attempt: number, generation: number): Promise<void> {
    const client = new pg.Client(this.config);
    client.on("notification", () => this.onCommit());
    // A dropped connection emits "error" and then "end"; the reconnect hangs off "end".
    client.on("error", () => undefined);
    client.on("end", () => {
      if (this.client !== client) return;
      this.client = undefined;
      this.retry(0, generation);
    });
    try {
      await client.connect();
      // The lock first: a committer that sees it held sends its NOTIFY, and from LISTEN on that reaches us.
      await client.query(this.hold);
      await client.query(`LISTEN ${quoteIdent(this.channel)}`);
    } catch {
      await client.end().catch(() => undefined);
      this.retry(attempt + 1, generation);
      return;
    }
    if (!this.running || generation !== this.generation) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.onCommit(); // whatever committed before LISTEN took effect
  }

  private retry(attempt: number, generation: number): void {
    if (!this.running || generation !== this.generation) return;
    const delay = Math.min(MAX_RECONNECT_DELAY_MS, 50 * 2 ** attempt);
    this.timer = setTimeout(() => void this.connect(attempt, generation), delay);
  }
}
