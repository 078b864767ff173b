/**
 * `fenced import`: copies the checkpoints of an official SqliteSaver file or PostgresSaver schema into a fenced store
 * (docs/import.md) and prints what it found, copied and read back. Idempotent: a second run copies nothing.
 */
import { parseArgs } from "node:util";
import { FencedStateError } from "../core/errors.js";
import { importCheckpoints, type ImportCounts } from "../langgraph/import.js";
import { FencedCheckpointSaver } from "../langgraph/saver.js";
import { openStoreLazily, DEFAULT_PATH } from "../open.js";
import { STORE_ARGS, UsageError, storeChoice, withUsage, type Command } from "./command.js";

const USAGE = `Usage: fenced import --from sqlite:PATH | postgres:URL [--from-schema NAME] [--db FILE | --url postgres://…]

Copies every thread, checkpoint namespace, checkpoint, channel value and pending write of an official LangGraph saver
into the fenced store, parents before children, each lineage's head at the source's latest checkpoint. The source is
only read. Checkpoints the store already has are skipped: running it twice copies nothing the second time.

Options:
  --from SOURCE          sqlite:PATH (a @langchain/langgraph-checkpoint-sqlite file) or postgres:URL
                         (a @langchain/langgraph-checkpoint-postgres database)
  --from-schema NAME     the PostgresSaver's schema (default public)
  --db FILE              target SQLite file (default ${DEFAULT_PATH})
  --url URL              target PostgreSQL (postgres://…)
  --schema NAME          target PostgreSQL schema (default fenced_state)
  --langgraph-prefix P   the fenced saver's key prefix (default langgraph)

Prints the counts: "source", "copied" and "verified" (what the store holds of the source's afterwards). Exits 0 when
everything verified, 1 when something did not land, 2 on bad arguments or a source that is no official saver's.
`;

export const importCommand: Command = {
  summary: "copy the checkpoints of an official SqliteSaver file or PostgresSaver schema into the fenced store",
  usage: USAGE,
  run: (argv) => withUsage("import", () => runImport(argv)),
};

async function runImport(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      from: { type: "string" },
      "from-schema": { type: "string" },
      ...STORE_ARGS,
      "langgraph-prefix": { type: "string" },
    },
  });
  if (values.from === undefined) throw new UsageError("--from sqlite:PATH or --from postgres:URL is required");
  const choice = storeChoice(values);
  // Opened on first use: a source that is refused leaves no new target file behind.
  const store = openStoreLazily(choice.open);
  try {
    const to = new FencedCheckpointSaver(store, {
      ...(values["langgraph-prefix"] !== undefined && { keyPrefix: values["langgraph-prefix"] }),
    });
    const result = await importCheckpoints({
      from: values.from,
      to,
      ...(values["from-schema"] !== undefined && { fromSchema: values["from-schema"] }),
    });
    const line = (label: string, c: Partial<ImportCounts> & { heads?: number }) =>
      `fenced import: ${label.padEnd(8)} ${Object.entries(c)
        .map(([k, v]) => `${v} ${k}`)
        .join(", ")}\n`;
    process.stdout.write(
      line("source", result.source) + line("copied", result.copied) + line("verified", result.verified),
    );
    const { source, verified } = result;
    const complete =
      verified.threads === source.threads &&
      verified.namespaces === source.namespaces &&
      verified.checkpoints === source.checkpoints &&
      verified.writes === source.writes &&
      verified.heads === source.namespaces;
    if (!complete)
      process.stderr.write("fenced import: the store does not hold everything the source has (see verified)\n");
    return complete ? 0 : 1;
  } catch (err) {
    // A source that is not an official saver's is a bad --from: said like any other usage error.
    if (err instanceof FencedStateError && err.code === "INVALID_INPUT") throw new UsageError(err.message);
    throw err;
  } finally {
    await store.close();
  }
}
