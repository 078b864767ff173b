/** Mutation testing of src/backends/sqlite (test/mutation/stryker.sqlite.json): the core suites on SQLite. */
import { mutationConfig } from "./vitest.shared.js";

export default mutationConfig({
  include: ["test/core/*.test.ts", "test/backends/sqlite-*.test.ts", "test/backends/epoch-counter.test.ts"],
  backends: "sqlite",
});
