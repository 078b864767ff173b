/**
 * The test runs StrykerJS uses for mutation testing (docs/mutation.md): one per target, each the suites that exercise
 * that target, on the backends it needs, with the property tests' run counts lowered and nothing that spawns
 * processes. Each mutant reruns only the tests that cover it, so these runs must be fast; the full suites (every
 * backend, full run counts, the process suites) stay in `npm test`.
 */
import { defineConfig } from "vitest/config";

export interface MutationRun {
  /** Test files (globs from the project root). */
  include: string[];
  exclude?: string[];
  /** FENCED_TEST_BACKENDS for backendFixtures() (test/support/backends.ts): the backends the suites run on. */
  backends: string;
}

export function mutationConfig(run: MutationRun) {
  return defineConfig({
    test: {
      include: run.include,
      exclude: run.exclude ?? [],
      // The official checkpoint validation suite uses global describe/it/beforeAll.
      globals: true,
      pool: "forks",
      // One module graph per worker instead of one per test file: the suites share no module state that matters, and
      // re-importing for every file was most of each mutant's run time.
      isolate: false,
      testTimeout: 60_000,
      hookTimeout: 60_000,
      env: {
        FENCED_TEST_BACKENDS: process.env.FENCED_TEST_BACKENDS ?? run.backends,
        // test/core/model.test.ts runs 3,000 command sequences by default, the scheduler suites 150 schedules.
        FENCED_MODEL_RUNS: process.env.FENCED_MODEL_RUNS ?? "300",
        FENCED_SCHEDULER_RUNS: process.env.FENCED_SCHEDULER_RUNS ?? "40",
      },
    },
  });
}
