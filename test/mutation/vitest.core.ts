/** Mutation testing of src/core (stryker.config.json): the core suites on the memory backend. */
import { mutationConfig } from "./vitest.shared.js";

export default mutationConfig({
  include: ["test/core/*.test.ts"],
  // SQLite's group commit, through a fake connection: no src/core logic of its own.
  exclude: ["test/core/group-commit.test.ts"],
  backends: "memory",
});
