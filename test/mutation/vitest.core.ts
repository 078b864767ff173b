/**
 * The test run StrykerJS uses for mutation testing (stryker.config.json, docs/mutation.md): the core suites on the
 * memory backend only, with the property tests' run counts lowered, and nothing that spawns processes. Each mutant
 * reruns the tests that cover it, so this run must be fast; the full suites (all backends, full run counts) stay in
 * `npm test`.
 */
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/core/*.test.ts"],
    // SQLite-only (the group commit's fake connection); no src/core logic of its own.
    exclude: ["test/core/group-commit.test.ts"],
    globals: true,
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 60_000,
    env: {
      FENCED_TEST_BACKENDS: process.env.FENCED_TEST_BACKENDS ?? "memory",
      FENCED_MODEL_RUNS: process.env.FENCED_MODEL_RUNS ?? "300",
      FENCED_SCHEDULER_RUNS: process.env.FENCED_SCHEDULER_RUNS ?? "40",
    },
  },
});
