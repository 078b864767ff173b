/**
 * A background WAL checkpointer: a worker thread with its own connection to the database file runs a PASSIVE
 * checkpoint every few milliseconds, so the copy of WAL pages into the database and its two fsyncs happen off the
 * event loop instead of inside whichever commit crosses `wal_autocheckpoint` (a pause of tens of ms that every
 * request waiting behind that commit pays: the HTTP p99 in bench/README.md). PASSIVE never blocks a writer or a
 * reader. The committing connection keeps its own `wal_autocheckpoint` as a backstop for when this one falls behind.
 * Durability is unchanged: checkpoints move pages that are already in the WAL.
 */
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

const EVERY_MS = 10;

// CommonJS on purpose: an eval'd worker needs no loader, so this runs the same from src/ (tsx) and from dist/.
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.path, { timeout: 0 });
const timer = setInterval(() => {
  try { db.pragma("wal_checkpoint(PASSIVE)"); } catch { /* busy or closing: the next tick, or the backstop, catches up */ }
}, workerData.everyMs);
parentPort.on("message", () => { clearInterval(timer); try { db.close(); } catch {} parentPort.close(); });
`;

export class Checkpointer {
  private worker: Worker | undefined;

  constructor(private readonly path: string) {}

  /** Starts the thread (idempotent); it does not keep the process alive. */
  start(): void {
    if (this.worker) return;
    const driver = createRequire(import.meta.url).resolve("better-sqlite3");
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path: this.path, driver, everyMs: EVERY_MS } });
    this.worker.unref();
    // A checkpointer that cannot run only costs speed: the backstop checkpoints instead. Never crash the process.
    this.worker.on("error", () => (this.worker = undefined));
  }

  /** Stops the thread and closes its connection. */
  async stop(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    this.worker = undefined;
    const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
    worker.ref(); // an unref'd thread would let the process end (exit code 13) while close() awaits it
    worker.postMessage("stop");
    await exited;
  }
}
