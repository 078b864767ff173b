/**
 * WAL checkpoints kept off the commit path, and the WAL kept bounded (docs/sqlite.md, "WAL checkpoints").
 *
 * SQLite's automatic checkpoint runs inside the COMMIT that crosses `wal_autocheckpoint`: that commit copies the WAL
 * back into the database and fsyncs it, and every request queued behind it on the event loop waits. Measured here: a
 * checkpoint of ~1,000 commits' pages takes 20–40 ms, ~85% of it the database file's fsync (the HTTP p99 at half load
 * was 30–70 ms of exactly that). So the writer connection turns automatic checkpoints off and:
 * - a worker thread with its own connection runs PASSIVE checkpoints (copy + fsync, off the event loop) at most every
 *   `CHECKPOINT_INTERVAL_MS` while commits land. PASSIVE takes no lock a writer waits for.
 * - The WAL rewinds to its start only when a write begins with every frame checkpointed, which under steady load never
 *   happens by itself (commits land while the worker copies). So once the WAL holds `REWIND_FRAMES` frames, the writer
 *   runs one PASSIVE checkpoint itself between groups, right after a worker pass: it copies only what landed during
 *   that pass, nothing is appended meanwhile, and the next group rewinds the WAL. That short pause (a few ms) is the
 *   price of the bound, paid once per `REWIND_FRAMES` frames (tested in test/backends/sqlite-wal.test.ts).
 * - A caller that awaits commits back to back never lets the event loop turn (every step is a microtask), so no timer
 *   fires and no worker report is dispatched; before, its WAL grew without end (312 MiB after 16,000 LangGraph puts).
 *   Once a turn is overdue, `landed` itself asks for passes, reads the worker's reports from their port without the
 *   event loop (`receiveMessageOnPort`), and rewinds at twice the bound (tested in the same file).
 * Durability is unchanged: it is set by `synchronous`, and a checkpoint fsyncs what it copies under either setting.
 */
import { createRequire } from "node:module";
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from "node:worker_threads";
import type Database from "better-sqlite3";

/** Longest time commits wait in the WAL before the worker copies them into the database. */
export const CHECKPOINT_INTERVAL_MS = 100;
/** Frames (~4 KiB each) the WAL may hold before the writer rewinds it: ~32 MiB. */
export const REWIND_FRAMES = 8192;
/** A worker pass that copied at most this many frames was short: the writer's own pass after it is shorter still. */
export const REWIND_REMAINDER = 512;
/**
 * Transactions before the first checkpoint: a store that commits less than this never starts the worker (closing the
 * last connection checkpoints the WAL by itself).
 */
export const FIRST_CHECKPOINT_AFTER = 1000;
/**
 * WAL frames a transaction is taken to write until a checkpoint has measured it (a commit writes 2–3, a LangGraph put
 * about 5).
 */
export const ASSUMED_FRAMES_PER_TRANSACTION = 4;
/** The event loop has not turned for this long while commits land: the caller awaits them back to back. */
export const STALL_MS = 50;

/** What the worker answers for one pass: the checkpoint's report, or why it failed. */
type WorkerReport = CheckpointReport | { error: string };

/** What one checkpoint did, as `PRAGMA wal_checkpoint` reports it. */
export interface CheckpointReport {
  /** 1 when another connection held the checkpoint lock and nothing was done. */
  busy: number;
  /** Frames in the WAL. */
  log: number;
  /** Frames copied into the database so far (equal to `log` when it caught up). */
  checkpointed: number;
}

export interface WalCheckpointsOptions {
  /** The database file (the worker opens its own connection to it). */
  file: string;
  /** The writer connection. */
  db: Database.Database;
  /** Runs `body` on the writer between groups (`GroupCommit.exclusive`). */
  betweenGroups(body: () => Promise<void>): Promise<void>;
  /** Overrides of the thresholds above (tests use small ones). */
  limits?: Partial<WalLimits>;
}

export interface WalLimits {
  intervalMs: number;
  rewindFrames: number;
  rewindRemainder: number;
  firstCheckpointAfter: number;
  stallMs: number;
}

/**
 * The worker: one connection, one PASSIVE checkpoint per message, each answered on its own port (`workerData.reports`)
 * so that the writer can read the answer without the event loop. CommonJS, so that it runs from source and dist.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.file, { timeout: 0, fileMustExist: true });
const reports = workerData.reports;
parentPort.on("message", (message) => {
  if (message === "close") {
    db.close();
    reports.close();
    parentPort.close();
    return;
  }
  try {
    reports.postMessage(db.pragma("wal_checkpoint(PASSIVE)")[0]);
  } catch (err) {
    reports.postMessage({ error: String(err && err.message || err) });
  }
});`;

export class WalCheckpoints {
  private readonly driver = createRequire(import.meta.url).resolve("better-sqlite3");
  private commits = 0;
  /** Transactions since the writer last rewound the WAL, and how many of them the last worker pass saw. */
  private sinceRewind = 0;
  private passSaw = 0;
  /** WAL frames per transaction, from the last checkpoint's report (0 until one reported). */
  private framesPerTransaction = 0;
  private started = false;
  private worker: Worker | undefined;
  /** Where the worker's reports arrive. */
  private reports: MessagePort | undefined;
  /** Whether the event loop turned since `turnAskedAt` (a `setImmediate` says so), and when the pass last started. */
  private turned = true;
  private turnAskedAt = 0;
  private passAt = 0;
  /** The worker failed: checkpoints run on the writer between groups instead. */
  private fallback = false;
  private passRunning = false;
  /** A rewind is due as soon as the worker's pass ends. */
  private rewindWanted = false;
  private timer: NodeJS.Timeout | undefined;
  private rewinding: Promise<void> | undefined;
  private closed = false;
  /** The last checkpoint's report (worker or writer), for tests and the benchmarks. */
  last: CheckpointReport | undefined;
  /** How many times the writer rewound the WAL itself, for tests and the benchmarks. */
  rewinds = 0;
  /** How many worker reports were read, for tests. */
  reportsRead = 0;

  private readonly limits: WalLimits;

  constructor(private readonly options: WalCheckpointsOptions) {
    this.limits = {
      intervalMs: CHECKPOINT_INTERVAL_MS,
      rewindFrames: REWIND_FRAMES,
      rewindRemainder: REWIND_REMAINDER,
      firstCheckpointAfter: FIRST_CHECKPOINT_AFTER,
      stallMs: STALL_MS,
      ...options.limits,
    };
  }

  /** Called after each group lands, with the number of transactions it held. */
  landed(transactions: number): void {
    if (this.closed) return;
    this.commits += transactions;
    this.sinceRewind += transactions;
    if (!this.started && this.commits < this.limits.firstCheckpointAfter) return;
    this.started = true;
    if (this.loopStalled()) {
      this.landedInLoop();
      return;
    }
    // The worker lags (a slow disk, a burst): by the last pass's rate, the writer rewinds now rather than after it.
    this.rewindPastBound(this.framesPerTransaction, Infinity);
    this.schedule();
  }

  /**
   * The WAL is past twice its bound at `framesPerTransaction`: the writer rewinds it, right after the worker's pass if
   * one is running (SQLite would report the writer's checkpoint busy during it), at once from `overdue` times the
   * bound even then (a busy answer is tried again at the next group).
   */
  private rewindPastBound(framesPerTransaction: number, overdue: number): void {
    const frames = this.sinceRewind * framesPerTransaction;
    if (frames < 2 * this.limits.rewindFrames) return;
    if (this.passRunning && frames < overdue * this.limits.rewindFrames) this.rewindWanted = true;
    else void this.rewind();
  }

  /** Asks for a pass in `intervalMs`, unless one is asked for already. */
  private schedule(): void {
    this.timer ??= setTimeout(() => this.pass(), this.limits.intervalMs).unref();
  }

  /**
   * Whether the event loop has not turned for `stallMs`: the caller awaits commits back to back in microtasks. At
   * most one `setImmediate` is pending; it fires at the next turn.
   */
  private loopStalled(): boolean {
    const now = performance.now();
    if (this.turned) {
      this.turned = false;
      this.turnAskedAt = now;
      setImmediate(() => (this.turned = true)).unref();
      return false;
    }
    return now - this.turnAskedAt >= this.limits.stallMs;
  }

  /**
   * `landed` while the event loop does not turn: what the timer and the message event would do, done here. The
   * worker's report is read from its port, a pass starts once an interval has passed since the last one, and the
   * writer rewinds at twice the bound (at the assumed rate until one is measured), right after a running pass, or at
   * once when that pass is overdue (four times the bound: the thread is still starting, or its disk stalls; a busy
   * answer is tried again at the next group).
   */
  private landedInLoop(): void {
    if (this.passRunning && this.reports) {
      const received = receiveMessageOnPort(this.reports);
      if (received) this.reported(received.message as WorkerReport);
    }
    this.rewindPastBound(this.framesPerTransaction || ASSUMED_FRAMES_PER_TRANSACTION, 4);
    if (!this.passRunning && !this.rewinding && performance.now() - this.passAt >= this.limits.intervalMs) this.pass();
  }

  /** Stops checkpointing and ends the worker; the writer closes its connection after this. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    const worker = this.worker;
    this.worker = undefined;
    this.reports?.close();
    this.reports = undefined;
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
    // Held while it finishes: an unref'd worker keeps nothing alive, so a script whose last step is close() would end
    // with this wait unsettled (exit code 13) before the worker closed its connection.
    worker.ref();
    worker.postMessage("close");
    await exited;
  }

  /** Asks the worker for a checkpoint (or, without one, runs it on the writer). */
  private pass(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.closed || this.passRunning || this.commits === 0) return;
    this.commits = 0;
    this.passAt = performance.now();
    const worker = this.fallback ? undefined : this.ensureWorker();
    if (!worker) {
      void this.rewind();
      return;
    }
    this.passRunning = true;
    this.passSaw = this.sinceRewind;
    worker.postMessage("checkpoint");
  }

  private ensureWorker(): Worker | undefined {
    if (this.worker) return this.worker;
    try {
      const { port1, port2 } = new MessageChannel();
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { file: this.options.file, driver: this.driver, reports: port2 },
        transferList: [port2],
      });
      worker.unref();
      worker.on("error", (err) => this.failed(err));
      // Dispatched when the event loop turns; read directly by `landedInLoop` when it does not.
      port1.on("message", (report: WorkerReport) => this.reported(report));
      port1.unref();
      this.worker = worker;
      this.reports = port1;
      return worker;
    } catch (err) {
      this.failed(err);
      return undefined;
    }
  }

  private reported(report: WorkerReport): void {
    this.passRunning = false;
    this.reportsRead++;
    if ("error" in report) {
      this.failed(report.error);
      return;
    }
    if (report.busy !== 0) {
      // Another connection was checkpointing: this pass did nothing and measured nothing (its counts are -1).
      if (this.rewindWanted && !this.closed) void this.rewind();
      else if (this.commits > 0 && !this.closed) this.schedule();
      return;
    }
    // Frames this pass copied (the WAL restarts its count when it rewinds).
    const before = this.last && this.last.checkpointed <= report.checkpointed ? this.last.checkpointed : 0;
    this.last = report;
    if (this.passSaw > 0) this.framesPerTransaction = report.log / this.passSaw;
    if (this.closed) return;
    if (report.log >= this.limits.rewindFrames) {
      // Rewind once a pass had little to copy (so little landed during it, and the writer's own pass is short);
      // until then, passes follow each other, each copying what landed during the one before. Passes that never get
      // short (the disk cannot keep up) do not lift the bound: at twice it the writer rewinds anyway.
      const short = report.checkpointed - before <= this.limits.rewindRemainder;
      if (short || this.rewindWanted || report.log >= 2 * this.limits.rewindFrames) void this.rewind();
      else if (this.commits > 0) {
        this.pass();
        return;
      }
    }
    // Commits landed during the pass: the next one is due.
    if (this.commits > 0) this.schedule();
  }

  private failed(err: unknown): void {
    if (this.fallback || this.closed) return;
    this.fallback = true;
    this.passRunning = false;
    process.emitWarning(
      `fenced-state: the WAL checkpoint thread failed (${String(err)}); checkpointing between commits instead`,
    );
    this.worker?.terminate().catch(() => undefined);
    this.worker = undefined;
    this.reports?.close();
    this.reports = undefined;
  }

  /** A PASSIVE checkpoint on the writer between groups: it catches up, and the next group rewinds the WAL. */
  private rewind(): Promise<void> {
    this.rewinding ??= this.options
      .betweenGroups(async () => {
        if (this.closed) return;
        const [report] = this.options.db.pragma("wal_checkpoint(PASSIVE)") as CheckpointReport[];
        // Busy: another process is checkpointing; the next worker report tries again.
        if (report?.busy !== 0) {
          this.rewindWanted = true;
          return;
        }
        this.last = report;
        this.rewinds++;
        // The frames it found are those of the transactions since the last rewind: the rate the bound goes by.
        if (this.sinceRewind > 0 && report.log > 0) this.framesPerTransaction = report.log / this.sinceRewind;
        this.sinceRewind = 0;
        this.rewindWanted = false;
      })
      .catch((err: unknown) => process.emitWarning(`fenced-state: WAL checkpoint failed: ${String(err)}`))
      .finally(() => (this.rewinding = undefined));
    return this.rewinding;
  }
}
