/**
 * vitest config for scripts/langgraph-matrix.sh: run with `--root .matrix/<end>`, where src/, test/ and examples/ are
 * symlinks into the repository. Keeping the symlinked paths makes `@langchain/*` resolve from
 * .matrix/<end>/node_modules (the versions under test) and everything else from the repository's node_modules.
 */
import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: { preserveSymlinks: true },
  test: {
    include: ["test/langgraph/**/*.test.ts"],
    globals: true,
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
