/**
 * How many promises a commit and a LangGraph put make on SQLite, counted with async_hooks (not timed). SQLite answers
 * a transaction's statements at once, so each promise on the path is bookkeeping: with LangGraph in the process,
 * AsyncLocalStorage is on and every promise runs a hook. bench/README.md ("What changed") has what each cut measured;
 * this keeps the cuts from coming back unseen: a commit makes 11 and a put as the next checkpoint of its thread 15,
 * each counting the one the loop's `await` makes while the hook is on. An extra `await` or async wrapper anywhere on
 * the path fails it.
 */
import { createHook } from "node:async_hooks";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { uuid6 } from "@langchain/langgraph-checkpoint";
import type { RunnableConfig } from "@langchain/core/runnables";
import { describe, expect, it } from "vitest";
import { op, openStore } from "../../src/index.js";
import { FencedCheckpointSaver } from "../../src/langgraph/index.js";

/** Promises created per call of `body` (which must return the call's own promise), after as many warm-up calls. */
async function promisesPer(calls: number, body: (i: number) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < calls; i++) await body(i);
  let created = 0;
  const hook = createHook({
    init(_id, type) {
      if (type === "PROMISE") created++;
    },
  }).enable();
  try {
    for (let i = calls; i < 2 * calls; i++) await body(i);
  } finally {
    hook.disable();
  }
  return created / calls;
}

const dir = () => mkdtempSync(join(tmpdir(), "fenced-promises-"));

describe("promises per write on SQLite", () => {
  it("a commit with expectVersion makes 11 promises", async () => {
    const store = await openStore({ path: join(dir(), "s.db") });
    try {
      // Commit i finds the key at version i.
      const perCommit = await promisesPer(200, (i) => store.commit({ key: "k", op: op.set(i), expectVersion: i }));
      expect(perCommit).toBe(11);
    } finally {
      await store.close();
    }
  });

  it("a LangGraph put as the child of the last makes 15 promises", async () => {
    const saver = await FencedCheckpointSaver.open({ path: join(dir(), "p.db") });
    try {
      const config = (parent: string | undefined): RunnableConfig => ({
        configurable: { thread_id: "t", checkpoint_ns: "", ...(parent !== undefined && { checkpoint_id: parent }) },
      });
      const ids = Array.from({ length: 400 }, (_, i) => uuid6(i));
      const perPut = await promisesPer(200, (i) =>
        saver.put(
          config(i === 0 ? undefined : ids[i - 1]),
          {
            v: 4,
            id: ids[i]!,
            ts: new Date(1_700_000_000_000 + i).toISOString(),
            channel_values: { messages: [`m${i}`], step: i },
            channel_versions: { messages: i + 1, step: i + 1 },
            versions_seen: {},
          },
          { source: "loop", step: i, parents: {} },
          { messages: i + 1, step: i + 1 },
        ),
      );
      expect(perPut).toBe(15);
    } finally {
      await saver.store.close();
    }
  });
});
