/**
 * The zombie trial runner (G2 with real stalls). Each trial: a real worker process claims a key and reads it; the
 * runner SIGSTOPs it; a rescuer reclaims the key — by stealing it, or by waiting out the lease — and sometimes writes;
 * the runner SIGCONTs the worker, which then commits what it computed before the stall under its old epoch. A trial
 * passes only when that commit is FENCED and the rescuer's state is intact.
 *
 *   npx tsx test/process/zombie-trials.ts --trials 1000 [--load 2]
 * `--load N` runs N extra writer processes hammering the same file during the trials.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { op, openStore } from "../../src/index.js";
import { spawnWorker, type Worker } from "../support/processes.js";

export interface TrialReport {
  trials: number;
  fenced: number;
  /** Trials whose zombie commit landed, or that ended otherwise than FENCED. */
  failures: { trial: number; mode: string; outcome: unknown }[];
  modes: Record<string, number>;
}

export async function runZombieTrials(
  trials: number,
  options: { load?: number; dir?: string } = {},
): Promise<TrialReport> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "fenced-zombies-"));
  const path = join(dir, "zombies.db");
  const store = await openStore({ path });
  const load: Worker[] = Array.from({ length: options.load ?? 0 }, () =>
    spawnWorker("test/process/workers/incrementer.ts", [path, "load/counter", "1000000", "1"]),
  );
  const zombie = spawnWorker("test/process/workers/zombie-loop.ts", [path]);
  const report: TrialReport = { trials, fenced: 0, failures: [], modes: {} };
  try {
    for (let t = 0; t < trials; t++) {
      const key = `zombie/${t}`;
      const mode = (["steal", "steal-and-write", "expire", "expire-and-write"] as const)[t % 4]!;
      report.modes[mode] = (report.modes[mode] ?? 0) + 1;
      await store.commit({ key, op: op.set("draft") });
      const ttlMs = mode.startsWith("expire") ? 40 : 60_000;
      zombie.child.stdin.write(`claim ${key} ${ttlMs}\n`);
      const claimed = await zombie.nextJson<{ claimed: number; version: number }>();
      zombie.child.kill("SIGSTOP");
      if (mode.startsWith("expire")) await new Promise((r) => setTimeout(r, ttlMs + 10 + Math.random() * 20));
      const rescue = await store.claim({ key, owner: "rescuer", ttlMs: 60_000, steal: mode.startsWith("steal") });
      if (mode.endsWith("write")) await store.commit({ key, op: op.set("rescued"), epoch: rescue.epoch });
      zombie.child.kill("SIGCONT");
      zombie.child.stdin.write("write\n");
      const outcome = await zombie.nextJson<{
        outcome: string;
        details?: { heldEpoch: number; currentEpoch: number };
      }>();
      const after = await store.read(key);
      const intact = after.value === (mode.endsWith("write") ? "rescued" : "draft");
      if (
        outcome.outcome === "FENCED" &&
        outcome.details?.heldEpoch === claimed.claimed &&
        outcome.details.currentEpoch === rescue.epoch &&
        intact
      ) {
        report.fenced++;
      } else {
        report.failures.push({ trial: t, mode, outcome });
      }
      await store.release(rescue);
    }
  } finally {
    zombie.child.stdin.end("exit\n");
    await zombie.exited;
    for (const w of load) w.child.kill("SIGKILL");
    await Promise.all(load.map((w) => w.exited));
    await store.close();
    if (!options.dir) rmSync(dir, { recursive: true, force: true });
  }
  return report;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: { trials: { type: "string", default: "100" }, load: { type: "string", default: "0" } },
  });
  const report = await runZombieTrials(Number(values.trials), { load: Number(values.load) });
  console.log(
    `zombie trials: ${report.fenced}/${report.trials} fenced (modes ${JSON.stringify(report.modes)}, load ${values.load} writer processes)`,
  );
  for (const f of report.failures) console.log("FAILED", JSON.stringify(f));
  process.exitCode = report.failures.length === 0 ? 0 : 1;
}
