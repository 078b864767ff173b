/**
 * Cross-host wake-ups for `watch`: every transaction that appends to the event log sends `NOTIFY` on the schema's
 * channel on its connection once its COMMIT succeeded, in a small transaction of its own that the committer does not
 * wait for (tx.ts, `notifyCommitted`, says why), and one dedicated connection per store `LISTEN`s while anyone
 * watches. A lost
 * notification costs only latency: `watch` also polls (`pollMs`), and every (re)connect wakes the watchers once to
 * read whatever landed while nobody was listening.
 */
import { createHash } from "node:crypto";
import pg from "pg";
import { quoteIdent } from "./schema.js";

/** The NOTIFY channel of a schema (an identifier of at most 63 bytes whatever the schema's name). */
export function commitChannel(schema: string): string {
  return `fenced_commits_${createHash("sha256").update(schema).digest("hex").slice(0, 16)}`;
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

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly channel: string,
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
