/**
 * The crash loop through the coordinator (G5 durability, G3 idempotency under kill -9 of clients AND server). A real
 * `fenced serve` process owns the SQLite file; writers are HTTP clients in other processes — a TypeScript fetch
 * writer (workers/http-acker.ts) and the real Python client (workers/http_acker.py), alternating — each committing
 * `increment(1)` to its own counter with opIds `<writer>#<i>` and acknowledging each 200 on stdout (the ledger). They
 * resend the same opId after a connection error or a 503, as the Python client does. Each cycle takes one of three
 * fault modes in turn:
 *
 * - `writers`:     every writer is SIGKILLed at a random moment; the coordinator lives on.
 * - `coordinator`: the coordinator is SIGKILLed at a random moment and restarted at once on the same port; the
 *                  writers ride out the outage by resending, then are SIGKILLed at a random moment after it is back.
 * - `both`:        the coordinator and every writer are SIGKILLed at independent random moments; the coordinator is
 *                  restarted as the next cycle's writers start, which resend their in-flight opId until it answers.
 *
 * Writers resume at their first unacknowledged opId, which may have landed before a kill (then it is replayed).
 * After every cycle, with the file's write lock held so that the coordinator cannot commit meanwhile: every
 * acknowledged commit is in the event log exactly once with the version it was acknowledged with (ack i ⇒ version
 * i+1), each counter's committed versions form one chain, no opId is committed twice, each counter's value equals
 * its version equals its last committed version, and `PRAGMA integrity_check` is ok. Events are read incrementally
 * (everything after the previous check), so the check costs the same at cycle 1,000 as at cycle 1 and does not
 * depend on the event log's retention.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import Database from "better-sqlite3";
import { openStore, type StateStore } from "../../src/index.js";
import { ROOT } from "../support/processes.js";
import { LedgerChecker } from "./crash-ledger.js";
import type { CrashReport } from "./crash-loop.js";

export const FAULT_MODES = ["writers", "coordinator", "both"] as const;
export type FaultMode = (typeof FAULT_MODES)[number];

export interface CoordinatorCrashReport extends CrashReport {
  /** SIGKILLs of `fenced serve` (each followed by a restart on the same file). */
  coordinatorKills: number;
  writerKills: number;
  modes: Record<FaultMode, number>;
  /** Acknowledgements that came only after resending the same opId (connection lost, refused, or 503). */
  ackedAfterResend: number;
  /** Acknowledgements by writer kind. */
  ackedBy: { ts: number; python: number };
}

interface Ack {
  ack: number;
  version: number;
  seq: number;
  replayed: boolean;
  resends: number;
}

type WriterKind = "ts" | "python";

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const randomMs = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo));

/** `fenced serve --db <path>` as a child process that the loop kills and restarts on the port it first got. */
class CoordinatorProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private port = 0;
  url = "";

  constructor(private readonly path: string) {}

  get alive(): boolean {
    return this.child !== undefined;
  }

  /** Starts it and resolves with its URL. A restart rebinds the same port; it retries while the port is not free yet. */
  async start(): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.spawnOnce();
      } catch (err) {
        if (attempt >= 20) throw err;
        await pause(100);
      }
    }
  }

  private spawnOnce(): Promise<string> {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "src/cli/main.ts", "serve", "--db", this.path, "--port", String(this.port)],
      {
        cwd: ROOT,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => child.kill("SIGKILL"), 60_000); // bounded: a hung start fails the run
      void exited.then(() => clearTimeout(timer));
      createInterface({ input: child.stdout }).on("line", (line) => {
        const m = /listening on (http:\/\/\S+)/.exec(line);
        if (!m) return;
        this.child = child;
        this.exited = exited.then(() => {
          if (this.child === child) this.child = undefined;
        });
        this.url = m[1]!;
        this.port = Number(new URL(this.url).port);
        clearTimeout(timer);
        resolve(this.url);
      });
      void exited.then(() => reject(new Error(`fenced serve exited before listening: ${stderr}`)));
    });
  }

  async kill(): Promise<void> {
    this.child?.kill("SIGKILL");
    await this.exited;
  }

  /** SIGTERM; resolves with the exit code (0: it finished in-flight requests and closed the store). */
  async stop(): Promise<number | null> {
    const child = this.child;
    if (!child) return 0;
    const code = new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
    child.kill("SIGTERM");
    return code;
  }
}

/** One writer process of either kind; collects its acknowledgements until it is SIGKILLed. */
function startWriter(kind: WriterKind, url: string, key: string, first: number) {
  const [command, args, env] =
    kind === "ts"
      ? [
          process.execPath,
          ["--import", "tsx", "test/process/workers/http-acker.ts", url, key, String(first)],
          process.env,
        ]
      : [
          process.env.FENCED_PYTHON ?? "python3",
          ["test/process/workers/http_acker.py", url, key, String(first)],
          // The client is stdlib only: the checkout's package, no venv needed.
          { ...process.env, PYTHONPATH: join(ROOT, "adapters/python"), PYTHONDONTWRITEBYTECODE: "1" },
        ];
  const child = spawn(command, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env });
  const acks: Ack[] = [];
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  createInterface({ input: child.stdout }).on("line", (line) => {
    const msg = JSON.parse(line) as Partial<Ack> & { ready?: boolean };
    if (msg.ready) markReady();
    else acks.push(msg as Ack);
  });
  // "close", not "exit": only then has every acknowledgement the writer wrote before it died been read.
  const exited = new Promise<string | undefined>((resolve) =>
    child.on("close", (code, signal) => {
      markReady(); // a writer that died before it was ready must not hang the cycle
      resolve(
        signal === "SIGKILL"
          ? undefined
          : `${key} (${kind}) ended with ${signal ?? `code ${code}`} instead of SIGKILL: ${stderr}`,
      );
    }),
  );
  return { kind, key, acks, ready, exited, kill: () => child.kill("SIGKILL") };
}

/** Runs `cycles` fault cycles with `writers` HTTP writers (TypeScript and Python, alternating). */
export async function runCoordinatorCrashLoop(options: {
  cycles: number;
  writers?: number;
  dir?: string;
}): Promise<CoordinatorCrashReport> {
  const writers = Array.from({ length: options.writers ?? 2 }, (_, i) => ({
    key: `crash/w${i}`,
    kind: (i % 2 === 0 ? "ts" : "python") as WriterKind,
  }));
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "fenced-crash-http-"));
  const path = join(dir, "crash.db");
  const report: CoordinatorCrashReport = {
    cycles: options.cycles,
    writers: writers.length,
    acknowledged: 0,
    lost: 0,
    doubleApplied: 0,
    replayedAfterKill: 0,
    problems: [],
    coordinatorKills: 0,
    writerKills: 0,
    modes: { writers: 0, coordinator: 0, both: 0 },
    ackedAfterResend: 0,
    ackedBy: { ts: 0, python: 0 },
  };
  const next = new Map(writers.map((w) => [w.key, 0]));
  const checker = new LedgerChecker(writers.map((w) => w.key));
  const coordinator = new CoordinatorProcess(path);
  let store: StateStore | undefined;
  try {
    await coordinator.start();
    store = await openStore({ path }); // the supervisor's own connection, for the checks only
    for (let cycle = 0; cycle < options.cycles; cycle++) {
      const mode = FAULT_MODES[cycle % FAULT_MODES.length]!;
      report.modes[mode]++;
      const procs = writers.map((w) => startWriter(w.kind, coordinator.url, w.key, next.get(w.key)!));
      // After a `both` cycle the coordinator restarts while the new writers are already resending to its port.
      if (!coordinator.alive) await coordinator.start();
      await Promise.all(procs.map((p) => p.ready));

      const killWriters = (lo: number, hi: number) =>
        Promise.all(procs.map((p) => pause(randomMs(lo, hi)).then(p.kill)));
      if (mode === "writers") {
        await killWriters(5, 150);
      } else if (mode === "coordinator") {
        await pause(randomMs(5, 150));
        await coordinator.kill();
        report.coordinatorKills++;
        await coordinator.start();
        await killWriters(5, 150);
      } else {
        await Promise.all([pause(randomMs(5, 150)).then(() => coordinator.kill()), killWriters(5, 150)]);
        report.coordinatorKills++;
      }
      report.writerKills += procs.length;

      for (const p of procs) {
        const crashed = await p.exited;
        if (crashed) report.problems.push(`cycle ${cycle}: ${crashed}`);
        for (const a of p.acks) {
          report.acknowledged++;
          report.ackedBy[p.kind]++;
          if (a.resends > 0) report.ackedAfterResend++;
          if (a.replayed) report.replayedAfterKill++;
        }
        if (p.acks.length > 0) next.set(p.key, p.acks[p.acks.length - 1]!.ack + 1);
      }

      const db = new Database(path, { readonly: true });
      const integrity = db.pragma("integrity_check", { simple: true });
      db.close();
      if (integrity !== "ok") report.problems.push(`cycle ${cycle}: integrity_check ${String(integrity)}`);
      const s = store;
      // The write lock freezes the file while we look: a request of a killed writer may still be finishing in the
      // coordinator, and the events and the records must be read from one state.
      await s.backend.transact(() => checker.check(s, cycle, new Map(procs.map((p) => [p.key, p.acks]))));
    }
    report.lost = checker.lost;
    report.doubleApplied = checker.doubleApplied;
    report.problems.push(...checker.problems);
    // A replay answers a commit whose first answer was lost: at most one per writer killed, plus one per writer
    // per coordinator kill (its in-flight request). More means the ledger missed acknowledgements.
    const bound = report.writerKills + report.coordinatorKills * report.writers;
    if (report.replayedAfterKill > bound)
      report.problems.push(`${report.replayedAfterKill} replays; at most ${bound} possible`);
    const code = await coordinator.stop();
    if (code !== 0) report.problems.push(`fenced serve exited ${String(code)} on SIGTERM`);
  } finally {
    await coordinator.kill();
    await store?.close();
    if (!options.dir) rmSync(dir, { recursive: true, force: true });
  }
  return report;
}
