/**
 * `GET /v1/threads/:threadId/status` (docs/lifecycle.md): a LangGraph thread's status over HTTP, on every backend, from
 * the same run claim and head as `FencedCheckpointSaver.threadStatus`; and the sweeps' counts on `/metrics`.
 */
import { Command } from "@langchain/langgraph";
import { afterEach, describe, expect, it } from "vitest";
import { FencedCheckpointSaver, invokeWithClaim } from "../../src/langgraph/index.js";
import { createServer, ThreadStatusSchema } from "../../src/server/index.js";
import { counterGraph } from "../langgraph/fixtures/counter.js";
import { stalledCounter } from "../langgraph/fixtures/stalled.js";
import { reviewGraph } from "../langgraph/fixtures/review.js";
import { backendFixtures } from "../support/backends.js";

for (const fixture of backendFixtures()) {
  describe(`thread status over HTTP on ${fixture.name}`, () => {
    afterEach(() => fixture.cleanup());

    it("answers idle, busy (owner, runId, since, expiresAt) and interrupted as the saver does", async () => {
      const store = await fixture.open();
      const server = createServer(store, { port: 0 });
      try {
        const status = async (thread: string) => {
          const res = await server.app.inject({
            method: "GET",
            url: `/v1/threads/${encodeURIComponent(thread)}/status`,
          });
          expect(res.statusCode).toBe(200);
          return ThreadStatusSchema.parse(res.json());
        };
        const saver = new FencedCheckpointSaver(store);
        expect(await status("t 1")).toEqual({ status: "idle" });
        const { graph, entered, release } = stalledCounter(saver);
        const run = invokeWithClaim(
          graph,
          { log: ["slow"] },
          { configurable: { thread_id: "t 1" } },
          { owner: "w1", runId: "r1" },
        );
        await entered;
        expect(await status("t 1")).toMatchObject({ status: "busy", owner: "w1", runId: "r1" });
        expect(await status("t 1")).toEqual(await saver.threadStatus("t 1"));
        release();
        await run;
        expect(await status("t 1")).toEqual({ status: "idle" });

        await reviewGraph(saver).invoke({ count: 0 }, { configurable: { thread_id: "r" } });
        expect(await status("r")).toMatchObject({ status: "interrupted", interrupts: [{ value: "approve?" }] });
        await reviewGraph(saver).invoke(new Command({ resume: "ok" }), { configurable: { thread_id: "r" } });
        expect(await status("r")).toEqual({ status: "idle" });

        const bad = await server.app.inject({ method: "GET", url: "/v1/threads/t/status?keyPrefix=" });
        expect(bad.statusCode).toBe(400);
        expect(bad.json()).toMatchObject({ error: { code: "INVALID_INPUT" } });
      } finally {
        await server.close();
        await store.close();
      }
    });

    it("shows what the sweeps removed on /metrics", async () => {
      let now = Date.now();
      const store = await fixture.open({ clock: () => now });
      const server = createServer(store, { port: 0 });
      try {
        const saver = new FencedCheckpointSaver(store, { ttl: { idleMs: 1000, strategy: "delete" } });
        await counterGraph(saver).invoke({ log: ["a"] }, { configurable: { thread_id: "t" } });
        now += 5000;
        const swept = await saver.sweep();
        const text = (await server.app.inject({ method: "GET", url: "/metrics" })).body;
        expect(text).toContain('fenced_lifecycle_swept{kind="threads"} 1');
        expect(text).toContain(`fenced_lifecycle_swept{kind="checkpoints"} ${swept.checkpoints}`);
      } finally {
        await server.close();
        await store.close();
      }
    });
  });
}
