/**
 * opIds the library makes itself are time-ordered (src/core/op-id.ts): a UUIDv7, later than every one before it in the
 * process, so that each opId's record lands on the last page of the idempotency B-tree instead of a random page of
 * its own (measured through `fenced serve`: bench/README.md). Checked at the generator, and at every place that makes
 * an opId for its caller: `update`, a work queue's `enqueue`, the LangGraph store's `put` (a batch) and `update`, the
 * OpenAI Agents session. A mutant that puts `randomUUID()` back at any of them fails here (the events' opIds stop increasing).
 */
import { describe, expect, it } from "vitest";
import { newOpId, op, openStore, type StateStore } from "../../src/index.js";
import { FencedStore } from "../../src/langgraph/index.js";
import { workQueue } from "../../src/queue/index.js";
import { FencedSession } from "../../adapters/openai-agents/index.js";

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The opIds of the committed events from `fromSeq` on, in seq order, each once (a txn's events share one). */
async function opIdsOf(store: StateStore, fromSeq: number, prefix = ""): Promise<string[]> {
  const ids: string[] = [];
  for (const e of await store.events(prefix, { fromSeq, limit: 10_000 })) {
    if (e.outcome === "committed" && e.opId !== undefined && ids.at(-1) !== e.opId) ids.push(e.opId);
  }
  return ids;
}

const next = async (store: StateStore) => (await store.lastSeq()) + 1;

function expectIncreasingV7(ids: string[], atLeast: number): void {
  expect(ids.length).toBeGreaterThanOrEqual(atLeast);
  for (const id of ids) expect(id).toMatch(UUID_V7);
  for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!, `${ids[i - 1]} then ${ids[i]}`).toBe(true);
}

describe("newOpId", () => {
  it("makes UUIDv7s, each later than the one before, also many within one millisecond", () => {
    const ids = Array.from({ length: 20_000 }, () => newOpId());
    expectIncreasingV7(ids, 20_000);
    expect(new Set(ids).size).toBe(ids.length);
    // Its time is now: the first 48 bits are Unix milliseconds.
    const ms = Number.parseInt(ids[0]!.replace(/-/g, "").slice(0, 12), 16);
    expect(Math.abs(ms - Date.now())).toBeLessThan(60_000);
  });
});

describe("opIds the library makes for its callers", () => {
  it("update, enqueue, the LangGraph store's put and update, and the Agents session send time-ordered opIds", async () => {
    const store = await openStore({ memory: true });
    try {
      let from = await next(store);
      for (let i = 0; i < 20; i++) await store.update("u/count", (n) => ((n as number | undefined) ?? 0) + 1);
      expectIncreasingV7(await opIdsOf(store, from), 20);

      from = await next(store);
      const queue = workQueue(store, "mail");
      for (let i = 0; i < 20; i++) await queue.enqueue({ n: i });
      // A queue keeps each enqueue's opId as a record of its own, under `ops/` (src/queue/keys.ts).
      const enqueued = (await store.events("", { fromSeq: from, limit: 10_000 }))
        .map((e) => /\/ops\/([^/]+)$/.exec(e.key)?.[1])
        .filter((id): id is string => id !== undefined);
      expectIncreasingV7(enqueued, 20);

      from = await next(store);
      const memory = new FencedStore(store);
      for (let i = 0; i < 10; i++) await memory.put(["team"], `note-${i}`, { n: i });
      for (let i = 0; i < 10; i++) await memory.update(["team"], "count", (v) => ({ n: ((v?.n as number) ?? 0) + 1 }));
      expectIncreasingV7(await opIdsOf(store, from), 20);

      from = await next(store);
      const session = new FencedSession({ store, sessionId: "s1" });
      for (let i = 0; i < 5; i++) await session.addItems([{ role: "user", content: `hi ${i}` } as never]);
      expectIncreasingV7(await opIdsOf(store, from), 5);
    } finally {
      await store.close();
    }
  });

  it("an opId the caller gives is kept as it is", async () => {
    const store = await openStore({ memory: true });
    try {
      await store.commit({ key: "k", op: op.set(1), opId: "my-own-op" });
      expect(await opIdsOf(store, 1)).toEqual(["my-own-op"]);
    } finally {
      await store.close();
    }
  });
});
