/** The machine and software a run measured, so every table says where its numbers come from. */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import Database from "better-sqlite3";

export interface MachineInfo {
  date: string;
  cpuModel: string;
  cores: number;
  ramGiB: number;
  os: string;
  node: string;
  sqlite: string;
  /** 1, 5 and 15 minute load averages when the run started (and ended, filled in by the runner). */
  loadAvgStart: number[];
  loadAvgEnd?: number[];
  gitCommit: string;
  packages: Record<string, string>;
}

const require = createRequire(import.meta.url);

/** The installed version of an npm package, or `"absent"`. */
export function packageVersion(name: string): string {
  try {
    const path = require.resolve(`${name}/package.json`);
    return (JSON.parse(readFileSync(path, "utf8")) as { version: string }).version;
  } catch {
    return "absent";
  }
}

export function sqliteVersion(): string {
  const db = new Database(":memory:");
  try {
    return db.prepare("SELECT sqlite_version()").pluck().get() as string;
  } finally {
    db.close();
  }
}

export function loadAverage(): number[] {
  return os.loadavg().map((x) => Number(x.toFixed(2)));
}

export function machineInfo(): MachineInfo {
  let gitCommit = "unknown";
  try {
    gitCommit = execFileSync("git", ["rev-parse", "--short", "HEAD"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
  } catch {
    // not a git checkout (an npm package): the commit is simply unknown
  }
  return {
    date: new Date().toISOString(),
    cpuModel: os.cpus()[0]?.model.trim() ?? "unknown",
    cores: os.cpus().length,
    ramGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    sqlite: sqliteVersion(),
    loadAvgStart: loadAverage(),
    gitCommit,
    packages: Object.fromEntries(
      [
        "better-sqlite3",
        "@langchain/langgraph",
        "@langchain/langgraph-checkpoint",
        "@langchain/langgraph-checkpoint-sqlite",
        "fastify",
        "autocannon",
      ].map((p) => [p, packageVersion(p)]),
    ),
  };
}

export function machineMarkdown(m: MachineInfo): string {
  return [
    `- date: ${m.date}, commit ${m.gitCommit}`,
    `- CPU: ${m.cpuModel}, ${m.cores} cores, ${m.ramGiB} GiB RAM, ${m.os}`,
    `- Node ${m.node}, SQLite ${m.sqlite}, ${Object.entries(m.packages)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}`,
    `- load average (1/5/15 min) at start: ${m.loadAvgStart.join(" / ")}${m.loadAvgEnd ? `, at end: ${m.loadAvgEnd.join(" / ")}` : ""}`,
  ].join("\n");
}

/** All cores' CPU time so far, from /proc/stat (jiffies): busy and total; `null` where there is no /proc/stat. */
function cpuTimes(): { busy: number; total: number } | null {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!;
    const [user, nice, system, idle, iowait = 0, irq = 0, softirq = 0, steal = 0] = line
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    const busy = user! + nice! + system! + irq + softirq + steal;
    return { busy, total: busy + idle! + iowait };
  } catch {
    return null;
  }
}

/**
 * Runs `body` and measures how busy the whole machine's CPUs were meanwhile (every process: the benchmark, its
 * workers, the database server): 1 = every core busy the whole time. A figure that stops growing with more writers
 * while this is near 1 is bound by the CPUs, not by waiting. `null` where /proc/stat is missing.
 */
export async function machineBusy<T>(body: () => Promise<T>): Promise<[T, number | null]> {
  const before = cpuTimes();
  const result = await body();
  const after = cpuTimes();
  if (!before || !after || after.total <= before.total) return [result, null];
  return [result, (after.busy - before.busy) / (after.total - before.total)];
}
