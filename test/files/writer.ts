/**
 * A writer process for test/files/processes.test.ts (SQLite `--db`, or PostgreSQL `--url` and `--schema`): appends `--lines N` lines `<name>-<i>` to one plan file through
 * `FencedFiles`, re-reading and retrying on VERSION_CONFLICT, then prints one JSON line with its conflict count.
 */
import { parseArgs } from "node:util";
import { isErrorCode, openStore } from "../../src/index.js";
import { FencedFiles } from "../../src/files/index.js";

const { values } = parseArgs({
  options: {
    db: { type: "string" },
    url: { type: "string" },
    schema: { type: "string" },
    dir: { type: "string" },
    name: { type: "string" },
    lines: { type: "string" },
  },
});
const store = await openStore(values.url ? { url: values.url, schema: values.schema! } : { path: values.db! });
const files = new FencedFiles(store, { dir: values.dir! });
let conflicts = 0;
for (let i = 0; i < Number(values.lines); i++) {
  for (;;) {
    const plan = await files.read("plan.md");
    try {
      await files.write("plan.md", `${plan.content ?? ""}${values.name}-${i}\n`, {
        expectVersion: plan.version,
        owner: values.name!,
      });
      break;
    } catch (err) {
      if (!isErrorCode(err, "VERSION_CONFLICT") || err.details.outsideEdit) throw err;
      conflicts++;
    }
  }
}
await store.close();
process.stdout.write(`${JSON.stringify({ name: values.name, conflicts })}\n`);
