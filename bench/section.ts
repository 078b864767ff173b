/** The contract between `bench/run.ts` and each section under `bench/sections/`. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ProgressBar } from "./progress.js";
import type { SectionResult } from "./report.js";

/**
 * `full`: the figures for bench/README.md (minutes). `quick`: CI-sized (`--quick`, under a minute a section).
 * `tiny`: the smoke test's size — checks the scripts run, measures nothing worth reading.
 */
export type Size = "full" | "quick" | "tiny";

export interface SectionContext {
  size: Size;
  progress: ProgressBar;
  /** A fresh temporary directory, removed when the section ends. */
  tempDir(): string;
}

export interface Section {
  name: string;
  title: string;
  /** How many `progress.step` calls `run` makes at this size (the bar's scale). */
  steps(size: Size): number;
  /** Measures; throws only when the section cannot run at all (a lost update is a failed target, not a throw). */
  run(ctx: SectionContext): Promise<Omit<SectionResult, "name" | "title" | "durationMs">>;
}

/** Picks the value for a size. */
export const bySize = <T>(size: Size, values: { full: T; quick: T; tiny: T }): T => values[size];

/** Runs a section with its own temporary directories and wraps its result. */
export async function runSection(section: Section, size: Size, progress: ProgressBar): Promise<SectionResult> {
  const dirs: string[] = [];
  const ctx: SectionContext = {
    size,
    progress,
    tempDir() {
      const dir = mkdtempSync(join(tmpdir(), `fenced-bench-${section.name}-`));
      dirs.push(dir);
      return dir;
    },
  };
  const t0 = performance.now();
  try {
    const result = await section.run(ctx);
    return { name: section.name, title: section.title, durationMs: Math.round(performance.now() - t0), ...result };
  } finally {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}
