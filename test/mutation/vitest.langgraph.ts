/** Mutation testing of src/langgraph (test/mutation/stryker.langgraph.json): the LangGraph suites in this process. */
import { mutationConfig } from "./vitest.shared.js";

export default mutationConfig({
  include: ["test/langgraph/*.test.ts"],
  // Child processes (lost-update, examples), a PostgreSQL connection string (conn-string), and the official
  // validation suite, which `npm test` runs on every backend.
  exclude: [
    "test/langgraph/lost-update.test.ts",
    "test/langgraph/examples.test.ts",
    "test/langgraph/conn-string.test.ts",
    "test/langgraph/validation.test.ts",
  ],
  backends: "memory",
});
