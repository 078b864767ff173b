/**
 * The benchmark scripts run, so they cannot rot: every section of `npm run bench` at its tiny size, through the real
 * CLI, must produce well-formed JSON (figures with median/min/max, ratios to a baseline, targets) and zero lost
 * updates. Nothing here asserts a speed: performance is read off `npm run bench`, never asserted in a test.
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import type { BenchResult } from "../../bench/run.js";
import type { Figure, Stats } from "../../bench/report.js";
import { SECTIONS } from "../../bench/sections/index.js";
import { tempDir } from "../support/backends.js";
import { ROOT } from "../support/processes.js";

const tmp = tempDir();
afterAll(() => tmp.remove());

async function bench(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", "bench/run.ts", ...args],
      {
        cwd: ROOT,
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

function expectStats(s: Stats): void {
  for (const v of [s.median, s.min, s.max]) expect(Number.isFinite(v)).toBe(true);
  expect(s.min).toBeLessThanOrEqual(s.median);
  expect(s.median).toBeLessThanOrEqual(s.max);
  expect(s.rounds).toBeGreaterThanOrEqual(1);
}

function expectFigure(f: Figure): void {
  expect(f.name).toEqual(expect.any(String));
  expect(f.unit).toEqual(expect.any(String));
  expect(f.subject.name).toEqual(expect.any(String));
  expectStats(f.subject.stats);
  if (f.baseline) {
    expectStats(f.baseline.stats);
    expectStats(f.ratio!);
    expect(f.ratio!.median).toBeGreaterThan(0);
  }
}

describe("npm run bench --tiny", () => {
  it.each(SECTIONS.map((s) => s.name))(
    "section %s runs and reports well-formed figures, targets and zero lost updates",
    async (name) => {
      const out = join(tmp.dir, name);
      const { code, stdout, stderr } = await bench(["--tiny", "--json", "--no-progress", "--only", name, "--out", out]);
      const result = JSON.parse(stdout) as BenchResult;
      expect(result.failures, stderr).toEqual([]);
      expect(code).toBe(0);
      expect(result.size).toBe("tiny");
      expect(result.machine).toMatchObject({
        cpuModel: expect.any(String),
        node: process.version,
        sqlite: expect.stringMatching(/^3\./),
      });
      expect(result.machine.cores).toBeGreaterThan(0);
      expect(result.machine.loadAvgStart).toHaveLength(3);
      expect(result.sections.map((s) => s.name)).toEqual([name]);
      const [section] = result.sections;
      expect(section!.figures.length).toBeGreaterThan(0);
      section!.figures.forEach(expectFigure);
      for (const t of section!.targets) {
        expect(t).toMatchObject({
          kind: expect.stringMatching(/^(speed|safety)$/),
          text: expect.any(String),
          measured: expect.any(String),
          met: expect.any(Boolean),
        });
        if (t.kind === "safety") expect(t, t.text).toMatchObject({ met: true });
      }
      for (const f of section!.figures)
        if (f.details && "lost updates" in f.details) expect(f.details["lost updates"], f.name).toBe(0);
      // The files a run leaves: the same JSON, and the markdown table.
      expect(JSON.parse(readFileSync(join(out, "latest.json"), "utf8"))).toEqual(result);
      expect(readFileSync(join(out, "latest.md"), "utf8")).toContain(`### ${section!.title}`);
    },
  );

  it("rejects an unknown section with exit code 2 and writes nothing", async () => {
    const out = join(tmp.dir, "unknown");
    const { code, stderr } = await bench(["--tiny", "--only", "nope", "--out", out]);
    expect(code).toBe(2);
    expect(stderr).toContain("unknown section(s): nope");
    expect(existsSync(out)).toBe(false);
  });
});

/** The stdout lines of a standalone bench script (`npx tsx bench/<script> …args`) after its `header` lines. */
async function scriptRows(args: string[], header: number): Promise<string[]> {
  const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", ...args], { cwd: ROOT });
  return stdout.trim().split("\n").slice(header);
}

describe("bench/put-layouts.ts", () => {
  it("reports each layout's µs and WAL frames per put and its ratio to SqliteSaver's statement", async () => {
    const rows = (await scriptRows(["bench/put-layouts.ts", "--writes", "60", "--rounds", "1"], 1)).map((line) =>
      /^(.+?)\s+([\d.]+) µs\/put\s+([\d.]+) WAL frames\/put\s+.*: ([\d.]+)×$/.exec(line),
    );
    expect(rows.map((m) => m?.[1])).toEqual([
      "fenced (head record + event + checkpoint row)",
      "fork-aware minimum (head record + row as event)",
      "sketch (the checkpoint row is head and event)",
      "SqliteSaver (INSERT OR REPLACE, autocommit)",
    ]);
    for (const m of rows) for (const n of m!.slice(2)) expect(Number(n)).toBeGreaterThan(0);
    // The layouts differ in what they write, which the frames show whatever the timing: ours adds pages.
    expect(Number(rows[0]![3])).toBeGreaterThan(Number(rows[1]![3]));
    expect(Number(rows[1]![3])).toBeGreaterThan(Number(rows[3]![3]));
    expect(rows[3]![4]).toBe("1.00");
  });
});

describe("bench/invoke-parts.ts", () => {
  it("reports each saver's invoke whole, without put, without putWrites, and the two shares", async () => {
    const rows = (await scriptRows(["bench/invoke-parts.ts", "--invokes", "4", "--rounds", "1"], 2)).map((line) =>
      /^(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(-?\d+)\s+(-?\d+)$/.exec(line),
    );
    expect(rows.map((m) => m?.[1])).toEqual(["FencedCheckpointSaver", "SqliteSaver"]);
    for (const m of rows) {
      const [whole, noPut, noWrites, putShare, writesShare] = m!.slice(2).map(Number);
      expect(whole).toBeGreaterThan(0);
      expect(putShare).toBe(whole! - noPut!);
      expect(writesShare).toBe(whole! - noWrites!);
    }
  });
});
