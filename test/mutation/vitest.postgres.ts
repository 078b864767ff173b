/** Mutation testing of src/backends/postgres (test/mutation/stryker.postgres.json): the core suites on PostgreSQL. */
import { mutationConfig } from "./vitest.shared.js";

export default mutationConfig({
  include: ["test/core/*.test.ts", "test/backends/postgres.test.ts", "test/backends/postgres-faults.test.ts"],
  exclude: ["test/core/group-commit.test.ts"],
  backends: "postgres",
});
