/**
 * G5 + G3 under `kill -9`: a writer commits with opIds and acknowledges each commit on stdout (the ledger); it is
 * SIGKILLed at random moments; the next writer first retries the one request that may have been in flight, with the
 * same opId. After every cycle: each acknowledged commit is present exactly once, the versions form one chain, the
 * counter equals the number of applied opIds (no double apply), and `PRAGMA integrity_check` is ok.
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { openStore } from "../../src/index.js";
import { tempDir } from "../support/backends.js";
import { ROOT } from "../support/processes.js";

const CYCLES = Number(process.env.FENCED_CRASH_CYCLES ?? 20);
const tmp = tempDir();
afterAll(() => tmp.remove());

/** Runs one writer from `first`, kills it after `killAfterMs`, and returns the acknowledged indexes in order. */
function crashCycle(path: string, first: number, killAfterMs: number, durability: string): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "test/process/workers/acker.ts", path, "crash/counter", String(first), durability], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const acks: number[] = [];
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    createInterface({ input: child.stdout }).on("line", (line) => {
      const msg = JSON.parse(line) as { ready?: boolean; ack?: number };
      if (msg.ready) setTimeout(() => child.kill("SIGKILL"), killAfterMs);
      if (msg.ack !== undefined) acks.push(msg.ack);
    });
    child.on("exit", (_code, signal) => (signal === "SIGKILL" ? resolve(acks) : reject(new Error(`writer ended without SIGKILL: ${stderr}`))));
  });
}

describe("G5 durability and G3 idempotency under kill -9", () => {
  for (const durability of ["normal", "full"] as const) {
    it(`loses no acknowledged commit and applies no opId twice over ${CYCLES} SIGKILL cycles (durability ${durability})`, async () => {
      const path = join(tmp.dir, `crash-${durability}.db`);
      (await openStore({ path })).close();
      const ledger: number[] = [];
      let next = 0;
      for (let cycle = 0; cycle < CYCLES; cycle++) {
        const acks = await crashCycle(path, next, 5 + Math.floor(Math.random() * 60), durability);
        ledger.push(...acks);
        // Resume at the first unacknowledged index: it may or may not have landed before the kill.
        next = acks.length > 0 ? acks[acks.length - 1]! + 1 : next;

        const db = new Database(path, { readonly: true });
        expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
        db.close();
        const store = await openStore({ path });
        const committed = (await store.events("crash/", { fromSeq: 1, limit: 1_000_000 })).filter((e) => e.outcome === "committed");
        const applied = committed.map((e) => e.opId);
        expect(new Set(applied).size, "an opId was applied twice").toBe(applied.length);
        for (const i of ledger) expect(applied, `acknowledged op-${i} is missing`).toContain(`op-${i}`);
        expect(committed.map((e) => e.version)).toEqual(committed.map((_, i) => i + 1));
        expect((await store.read("crash/counter")).value ?? 0).toBe(committed.length);
        await store.close();
      }
      expect(ledger.length).toBeGreaterThan(CYCLES);
    }, 300_000);
  }
});
