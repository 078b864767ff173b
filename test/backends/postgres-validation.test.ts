/**
 * The official @langchain/langgraph-checkpoint-validation suite against FencedCheckpointSaver on PostgreSQL, each
 * checkpointer in a fresh schema. It runs in the documented compatibility configuration (`parentlessPut: "fork"`),
 * where every official test passes; the strict configuration's expected conflicts (test/langgraph/validation.test.ts)
 * are decided by the saver above the backend, not by the backend.
 */
import { validate } from "@langchain/langgraph-checkpoint-validation";
import { FencedCheckpointSaver } from "../../src/langgraph/index.js";
import { dropTestSchemas, postgresUrl, testSchemaName } from "../support/backends.js";

const url = postgresUrl();
const schemas = new Map<FencedCheckpointSaver, string>();

validate({
  checkpointerName: "FencedCheckpointSaver on postgres (parentlessPut: fork)",
  async createCheckpointer() {
    const schema = testSchemaName();
    const saver = await FencedCheckpointSaver.open({ url, schema, pool: { max: 2 }, parentlessPut: "fork" });
    schemas.set(saver, schema);
    return saver;
  },
  async destroyCheckpointer(saver: FencedCheckpointSaver) {
    await saver.store.close();
    await dropTestSchemas(url, [schemas.get(saver)!]);
    schemas.delete(saver);
  },
});
