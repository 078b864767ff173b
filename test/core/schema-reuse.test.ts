/**
 * Every input schema is built once, at module level, never per call (src/core/validate.ts, `parseInput`). zod
 * compiles an object schema into a function (`new Function`) on its first parse, so a schema built per call — a
 * `.omit()` in a call path, an inline `z.object(...)` — compiles on every call: that was 96 µs of each `putWrites`
 * (bench/README.md, issue 18's third round). Performance is never asserted in a test; what is asserted is the cause:
 * once each operation has run once, running it again compiles no schema at all.
 */
import { emptyCheckpoint, uuid6 } from "@langchain/langgraph-checkpoint";
import { afterEach, describe, expect, it } from "vitest";
import { FencedCheckpointSaver, FencedStore } from "../../src/langgraph/index.js";
import { op, openStore, type StateStore } from "../../src/index.js";
import { createServer } from "../../src/server/index.js";

/** Counts zod's schema compilations (its `Doc.compile` builds `function (payload, ctx)` with the global Function). */
async function compilationsDuring(body: () => Promise<void>): Promise<number> {
  const original = globalThis.Function;
  let compiled = 0;
  globalThis.Function = new Proxy(original, {
    construct(target, args: string[], newTarget) {
      if (String(args.at(-1)).includes("function (payload, ctx)")) compiled++;
      return Reflect.construct(target, args, newTarget);
    },
  });
  try {
    await body();
  } finally {
    globalThis.Function = original;
  }
  return compiled;
}

const opened: StateStore[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});

describe("input schemas are built once, not per call", () => {
  it("the counter sees a schema built per call (the check can fail)", async () => {
    const { z } = await import("zod");
    const count = await compilationsDuring(async () => {
      for (let i = 0; i < 3; i++) z.object({ a: z.number() }).parse({ a: i });
    });
    expect(count).toBe(3);
  });

  it("store, saver, FencedStore and HTTP operations compile no schema once each has run", async () => {
    const store = await openStore({ memory: true });
    opened.push(store);
    const saver = new FencedCheckpointSaver(store);
    const memory = new FencedStore(store);
    const server = createServer(store, { port: 0 });
    let round = 0;
    const everything = async () => {
      round++;
      const key = `reuse/k${round}`;
      await store.commit({ key, op: op.set({ n: round }), expectVersion: 0, opId: `op-${round}` });
      await store.txn([{ key: `${key}/a`, op: op.increment(1) }], { guards: [{ key, version: 1 }] });
      await store.update(key, (v) => ({ ...(v as object), seen: true }));
      await store.read(key);
      await store.readMany([key, `${key}/a`]);
      await store.list({ prefix: "reuse/", limit: 5 });
      const claim = await store.claim({ key: `${key}/lock`, owner: "me", ttlMs: 10_000 });
      await store.renew(claim, 10_000);
      await store.release(claim);
      await store.events("reuse/", { fromSeq: 1, limit: 5 });
      const thread = { configurable: { thread_id: `t${round}`, checkpoint_ns: "" } };
      const first = await saver.put(
        thread,
        { ...emptyCheckpoint(), id: uuid6(round) },
        { source: "input", step: -1, parents: {} },
        {},
      );
      await saver.putWrites(first, [["messages", ["hi"]]], "task-1");
      await saver.getTuple(thread);
      for await (const _ of saver.list(thread, { limit: 2 }));
      await memory.put(["users", `u${round}`], "profile", { name: "ada" });
      await memory.get(["users", `u${round}`], "profile");
      await memory.search(["users"], { limit: 2 });
      await memory.listNamespaces({ limit: 2 });
      await memory.batch([{ namespace: ["users", `u${round}`], key: "profile" }]);
      for (const [url, payload] of [
        ["/v1/commit", { key: `${key}/http`, op: { type: "increment", by: 1 }, opId: `http-${round}` }],
        ["/v1/read", { key }],
        ["/v1/txn", { requests: [{ key: `${key}/http`, op: { type: "increment", by: 1 } }] }],
      ] as const) {
        const res = await server.app.inject({ method: "POST", url, payload });
        expect(res.statusCode, `${url}: ${res.body}`).toBe(200);
      }
    };
    await everything();
    expect(await compilationsDuring(everything)).toBe(0);
    await server.app.close();
  });
});
