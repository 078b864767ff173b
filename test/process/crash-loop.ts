/**
 * The crash loop (G5 durability, G3 idempotency under kill -9). Each cycle starts `writers` processes on one SQLite
 * file; each commits `increment(1)` to its own counter with opIds `<writer>#<i>` and acknowledges every commit on
 * stdout (the ledger). The supervisor SIGKILLs each writer at a random moment; the next cycle resumes each writer at
 * its first unacknowledged opId, which may or may not have landed before the kill (a retry with the same opId).
 * After every cycle it checks `PRAGMA integrity_check` and the ledger invariants of crash-ledger.ts: every
 * acknowledged commit present exactly once, each counter's versions one chain, no opId applied twice.
 *
 *   npx tsx test/process/crash-loop.ts --cycles 1000 [--writers 3] [--durability full] [--via embedded|coordinator|both]
 *
 * `--via coordinator` runs the same ledger and invariants with HTTP writers committing through a real `fenced serve`
 * that is SIGKILLed and restarted too (test/process/coordinator-crash-loop.ts); `--via both` runs one after the other.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import Database from "better-sqlite3";
import { openStore } from "../../src/index.js";
import { ROOT } from "../support/processes.js";
import { LedgerChecker, type LedgerAck } from "./crash-ledger.js";

export interface CrashReport {
  cycles: number;
  writers: number;
  acknowledged: number;
  /** Acknowledged commits missing from the store: must be 0. */
  lost: number;
  /** opIds applied more than once: must be 0. */
  doubleApplied: number;
  /** In-flight requests that had landed before the kill and were replayed by the retry. */
  replayedAfterKill: number;
  problems: string[];
}

/** Runs one writer from `first` until it is SIGKILLed after `killAfterMs`; resolves with its acknowledgements. */
function writerCycle(path: string, writer: string, first: number, killAfterMs: number, durability: string) {
  return new Promise<{ acks: LedgerAck[]; replayed: number }>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "test/process/workers/acker.ts", path, writer, String(first), durability],
      {
        cwd: ROOT,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const acks: LedgerAck[] = [];
    let replayed = 0;
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    createInterface({ input: child.stdout }).on("line", (line) => {
      const msg = JSON.parse(line) as { ready?: boolean; ack?: number; version?: number; replayed?: boolean };
      if (msg.ready) setTimeout(() => child.kill("SIGKILL"), killAfterMs);
      if (msg.ack !== undefined) {
        acks.push({ ack: msg.ack, version: msg.version! });
        if (msg.replayed) replayed++;
      }
    });
    // "close", not "exit": only then has every acknowledgement the writer wrote before it died been read.
    child.on("close", (_code, signal) =>
      signal === "SIGKILL"
        ? resolve({ acks, replayed })
        : reject(new Error(`writer ${writer} ended without SIGKILL: ${stderr}`)),
    );
  });
}

export async function runCrashLoop(options: {
  cycles: number;
  writers?: number;
  durability?: "normal" | "full";
  dir?: string;
}): Promise<CrashReport> {
  const writers = Array.from({ length: options.writers ?? 2 }, (_, i) => `crash/w${i}`);
  const durability = options.durability ?? "normal";
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "fenced-crash-"));
  const path = join(dir, "crash.db");
  (await openStore({ path })).close();
  const next = new Map(writers.map((w) => [w, 0]));
  const checker = new LedgerChecker(writers);
  const report: CrashReport = {
    cycles: options.cycles,
    writers: writers.length,
    acknowledged: 0,
    lost: 0,
    doubleApplied: 0,
    replayedAfterKill: 0,
    problems: [],
  };
  try {
    for (let cycle = 0; cycle < options.cycles; cycle++) {
      const results = await Promise.all(
        writers.map((w) => writerCycle(path, w, next.get(w)!, 5 + Math.floor(Math.random() * 80), durability)),
      );
      results.forEach(({ acks, replayed }, i) => {
        const w = writers[i]!;
        report.acknowledged += acks.length;
        report.replayedAfterKill += replayed;
        if (acks.length > 0) next.set(w, acks[acks.length - 1]!.ack + 1);
      });

      const db = new Database(path, { readonly: true });
      const integrity = db.pragma("integrity_check", { simple: true });
      db.close();
      if (integrity !== "ok") report.problems.push(`cycle ${cycle}: integrity_check ${String(integrity)}`);
      // Every writer is dead: the file is still. A fresh open each cycle also recovers the WAL a kill left behind.
      const store = await openStore({ path });
      await checker.check(store, cycle, new Map(results.map((r, i) => [writers[i]!, r.acks])));
      await store.close();
    }
  } finally {
    if (!options.dir) rmSync(dir, { recursive: true, force: true });
  }
  report.lost = checker.lost;
  report.doubleApplied = checker.doubleApplied;
  report.problems.push(...checker.problems);
  // A resumed writer replays at most the one commit it had in flight when it was killed; more means the ledger
  // missed acknowledgements.
  const kills = report.cycles * report.writers;
  if (report.replayedAfterKill > kills)
    report.problems.push(`${report.replayedAfterKill} replays after ${kills} kills`);
  return report;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      cycles: { type: "string", default: "1000" },
      writers: { type: "string", default: "2" },
      durability: { type: "string", default: "normal" },
      via: { type: "string", default: "embedded" },
    },
  });
  const cycles = Number(values.cycles);
  const writers = Number(values.writers);
  let ok = true;
  for (const via of values.via === "both" ? ["embedded", "coordinator"] : [values.via]) {
    const started = Date.now();
    let report: CrashReport;
    if (via === "coordinator") {
      const { runCoordinatorCrashLoop } = await import("./coordinator-crash-loop.js");
      const r = await runCoordinatorCrashLoop({ cycles, writers });
      report = r;
      console.log(
        `crash loop through fenced serve: ${r.cycles} cycles (${JSON.stringify(r.modes)}) × ${r.writers} HTTP writers (TypeScript and Python), ${r.coordinatorKills} coordinator SIGKILLs, ${r.writerKills} writer SIGKILLs; ${r.acknowledged} acknowledged commits checked (${r.ackedBy.ts} TypeScript, ${r.ackedBy.python} Python), lost ${r.lost}, applied twice ${r.doubleApplied}, acknowledged only after resending the same opId ${r.ackedAfterResend}, commits whose answer a kill cut off, replayed on resend ${r.replayedAfterKill}`,
      );
    } else if (via === "embedded") {
      report = await runCrashLoop({ cycles, writers, durability: values.durability as "normal" | "full" });
      console.log(
        `crash loop (embedded SQLite, durability ${values.durability}): ${report.cycles} cycles × ${report.writers} writers, ${report.acknowledged} acknowledged commits checked, lost ${report.lost}, applied twice ${report.doubleApplied}, in-flight commits replayed after a kill ${report.replayedAfterKill}`,
      );
    } else {
      throw new Error(`--via must be embedded, coordinator or both, not ${String(via)}`);
    }
    console.log(`  (${((Date.now() - started) / 1000).toFixed(0)} s)`);
    for (const p of report.problems.slice(0, 20)) console.log("PROBLEM", p);
    ok &&= report.problems.length === 0 && report.lost === 0 && report.doubleApplied === 0;
  }
  process.exitCode = ok ? 0 : 1;
}
