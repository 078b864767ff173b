/**
 * Shared-state tools under the real `@openai/agents` runner with a fake model: a conflict reaches the model as a
 * structured result it acts on (G1), a claimed run's fence survives a handoff and a newer run fences it (G2).
 */
import { Agent, run } from "@openai/agents";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type { StateStore } from "../../../src/index.js";
import {
  stateTools,
  withFencedRun,
  type FencedContext,
  type RunFence,
  type StateToolResult,
} from "../../../adapters/openai-agents/index.js";
import { backendFixtures } from "../../support/backends.js";
import { barrier, callTool, PolicyModel, say, type Policy } from "./fakeModel.js";
import { offline } from "./offline.js";
import { UnfencedStore } from "./unfencedStore.js";

const net = offline();
afterAll(() => {
  expect(net.fetchAttempts()).toEqual([]);
  net.restore();
});

/**
 * An agent that adds `item` to the shared list `plan`: read, then commit with the version it read; on a retryable
 * failure it re-reads and tries again. `lineUp` holds its first commit until every racer has read.
 */
function racer(item: string, lineUp: () => Promise<void>, commits: StateToolResult[]): Policy {
  let phase: "read" | "commit" = "read";
  let linedUp = false;
  return async ({ call, lastResult }) => {
    if (call === 0) return callTool("read_state", { key: "plan" });
    const r = lastResult as StateToolResult;
    if (phase === "read") {
      if (!r.ok) return say(`read failed: ${r.error.code}`);
      if (!linedUp) {
        linedUp = true;
        await lineUp();
      }
      phase = "commit";
      const value = [...((r.value as string[] | undefined) ?? []), item];
      return callTool("commit_state", { key: "plan", value: JSON.stringify(value), expectVersion: r.version });
    }
    commits.push(r);
    if (r.ok) return say(`added ${item}`);
    if (!r.error.retryable) return say(`gave up: ${r.error.code}`);
    phase = "read";
    return callTool("read_state", { key: "plan" });
  };
}

/** Two agents add one item each to `team/plan`, both reading before either commits. */
async function raceTwoAgents(store: StateStore) {
  const lineUp = barrier(2);
  const commits = { a: [] as StateToolResult[], b: [] as StateToolResult[] };
  const tools = stateTools(store, { prefix: "team/" });
  const a = new Agent({
    name: "researcher",
    instructions: "add to the plan",
    model: new PolicyModel(racer("gather sources", lineUp, commits.a)),
    tools,
  });
  const b = new Agent({
    name: "writer",
    instructions: "add to the plan",
    model: new PolicyModel(racer("draft outline", lineUp, commits.b)),
    tools,
  });
  const outputs = await Promise.all([run(a, "go"), run(b, "go")]);
  const plan = await store.read("team/plan");
  return { plan, commits, outputs: outputs.map((o) => o.finalOutput) };
}

for (const fixture of backendFixtures()) {
  describe(`openai-agents tools on ${fixture.name}`, () => {
    let store: StateStore;
    afterEach(async () => {
      await store?.close();
      await fixture.cleanup();
    });

    it("G1: two agents racing on one key: one wins, the other gets a structured VERSION_CONFLICT, re-reads and retries", async () => {
      store = await fixture.open();
      const { plan, commits, outputs } = await raceTwoAgents(store);

      expect(outputs).toEqual(["added gather sources", "added draft outline"]);
      expect((plan.value as string[]).slice().sort()).toEqual(["draft outline", "gather sources"]);
      expect(plan.version).toBe(2);
      const failures = [...commits.a, ...commits.b].filter((r): r is Extract<StateToolResult, { ok: false }> => !r.ok);
      expect(failures).toHaveLength(1);
      expect(failures[0]).toMatchObject({
        ok: false,
        key: "plan",
        error: {
          code: "VERSION_CONFLICT",
          retryable: true,
          details: { key: "team/plan", expectedVersion: 0, actualVersion: 1 },
        },
        current: { exists: true, version: 1 },
      });
      const outcomes = (await store.events("team/plan")).map((e) => e.outcome);
      expect(outcomes).toEqual(["committed", "conflict", "committed"]);
    });

    it("mutant: the same race through a store that skips the version check loses one agent's item", async () => {
      store = await fixture.open();
      const { plan, commits } = await raceTwoAgents(new UnfencedStore(store));
      // Both commits "succeed" and the last one overwrites the first: exactly the lost update the G1 test rules out.
      expect([...commits.a, ...commits.b].every((r) => r.ok)).toBe(true);
      expect(plan.value as string[]).toHaveLength(1);
    });

    it("update_state merges disjoint fields from racing agents with no conflict, and a stale expectVersion conflicts", async () => {
      store = await fixture.open();
      const tools = stateTools(store, { prefix: "team/" });
      const lineUp = barrier(2);
      const patcher =
        (field: string, seen: StateToolResult[]): Policy =>
        async ({ call, lastResult }) => {
          if (call === 0) {
            await lineUp();
            return callTool("update_state", {
              key: "status",
              patch: JSON.stringify({ [field]: "done" }),
              expectVersion: null,
            });
          }
          seen.push(lastResult as StateToolResult);
          return say("ok");
        };
      const seen: StateToolResult[] = [];
      await Promise.all(
        ["research", "draft"].map((field) =>
          run(new Agent({ name: field, instructions: "", model: new PolicyModel(patcher(field, seen)), tools }), "go"),
        ),
      );
      expect(seen.map((r) => r.ok)).toEqual([true, true]);
      expect((await store.read("team/status")).value).toEqual({ research: "done", draft: "done" });

      const stale = new PolicyModel(async ({ call, lastResult }) =>
        call === 0
          ? callTool("update_state", { key: "status", patch: '{"review":"done"}', expectVersion: 1 })
          : say(JSON.stringify(lastResult)),
      );
      const out = await run(new Agent({ name: "late", instructions: "", model: stale, tools }), "go");
      expect(JSON.parse(out.finalOutput!)).toMatchObject({
        ok: false,
        error: { code: "VERSION_CONFLICT", retryable: true },
        current: { version: 2, value: { research: "done", draft: "done" } },
      });
    });

    it("update_state and commit_state store a __proto__ member as data, and it reads back (issue 15 item 8)", async () => {
      store = await fixture.open();
      const tools = stateTools(store, { prefix: "team/" });
      const results: StateToolResult[] = [];
      const model = new PolicyModel(({ call, lastResult }) => {
        if (call > 0) results.push(lastResult as StateToolResult);
        if (call === 0)
          return callTool("update_state", {
            key: "doc",
            patch: '{"__proto__":{"admin":true},"title":"t"}',
            expectVersion: null,
          });
        if (call === 1) return callTool("commit_state", { key: "raw", value: '{"__proto__":[1]}', expectVersion: 0 });
        if (call === 2) return callTool("read_state", { key: "doc" });
        return say("done");
      });
      await run(new Agent({ name: "proto", instructions: "", model, tools }), "go");
      expect(results.map((r) => r.ok)).toEqual([true, true, true]);
      expect(JSON.stringify((results[2] as { value?: unknown }).value)).toBe(
        '{"__proto__":{"admin":true},"title":"t"}',
      );
      expect(JSON.stringify((await store.read("team/raw")).value)).toBe('{"__proto__":[1]}');
      expect(({} as { admin?: boolean }).admin).toBeUndefined();
    });

    it("bad arguments come back as a structured INVALID_INPUT result and write nothing", async () => {
      store = await fixture.open();
      const tools = stateTools(store, { prefix: "team/" });
      const results: StateToolResult[] = [];
      const model = new PolicyModel(({ call, lastResult }) => {
        if (call > 0) results.push(lastResult as StateToolResult);
        if (call === 0) return callTool("commit_state", { key: "plan", value: "not json", expectVersion: 0 });
        if (call === 1) return callTool("update_state", { key: "plan", patch: "[1,2]", expectVersion: null });
        if (call === 2) return callTool("commit_state", { key: "bad//key", value: "1", expectVersion: 0 });
        return say("done");
      });
      await run(new Agent({ name: "clumsy", instructions: "", model, tools }), "go");
      expect(results.map((r) => (r.ok ? "ok" : r.error.code))).toEqual([
        "INVALID_INPUT",
        "INVALID_INPUT",
        "INVALID_INPUT",
      ]);
      expect(results.every((r) => !r.ok && r.error.retryable === false)).toBe(true);
      expect(await store.list("team/")).toEqual([]);
    });

    it("G2: a handoff keeps the run's fence, and a newer run's claim fences the old run's next write", async () => {
      store = await fixture.open();
      const tools = stateTools<FencedContext>(store, { prefix: "team/" });
      const writes: StateToolResult[] = [];
      let takeover: (() => Promise<unknown>) | undefined;
      const writerModel = new PolicyModel(async ({ call, lastResult }) => {
        if (call > 0) writes.push(lastResult as StateToolResult);
        if (call === 0) return callTool("commit_state", { key: "plan", value: '["v1"]', expectVersion: 0 });
        if (call === 1) {
          await takeover!(); // a newer run reclaims team/plan while this one is still going
          return callTool("commit_state", { key: "plan", value: '["v1","zombie"]', expectVersion: 1 });
        }
        return say("done");
      });
      const writer = new Agent<FencedContext>({ name: "writer", instructions: "", model: writerModel, tools });
      const triage = new Agent<FencedContext>({
        name: "triage",
        instructions: "",
        handoffs: [writer],
        model: new PolicyModel(({ call }) => (call === 0 ? callTool("transfer_to_writer", {}) : say("unexpected"))),
      });

      let heldEpoch = 0;
      const result = await withFencedRun(
        store,
        { owner: "run-1", keys: ["team/plan"], ttlMs: 60_000 },
        async ({ fence, context }) => {
          heldEpoch = fence.epochs["team/plan"]!;
          takeover = () => store.claim({ key: "team/plan", owner: "run-2", ttlMs: 60_000, steal: true });
          return run(triage, "update the plan", { context });
        },
      );

      expect(result.lastAgent?.name).toBe("writer");
      // The first write presented run-1's epoch after the handoff; without it a live claim rejects a write (no-epoch).
      expect(writes[0]).toMatchObject({ ok: true, version: 1 });
      expect(writes[1]).toMatchObject({
        ok: false,
        error: {
          code: "FENCED",
          retryable: false,
          details: { heldEpoch, currentEpoch: heldEpoch + 1, reason: "superseded" },
        },
      });
      expect((await store.read("team/plan")).value).toEqual(["v1"]);
      const committed = (await store.events("team/plan")).filter((e) => e.outcome === "committed");
      expect(committed).toMatchObject([{ epoch: heldEpoch, owner: "run-1" }]);
    });

    it("works with the caller's own context type: the fence sits next to its fields", async () => {
      store = await fixture.open();
      type AppContext = { user: string; fence?: RunFence };
      const model = new PolicyModel(({ call, lastResult }) =>
        call === 0
          ? callTool("commit_state", { key: "owner", value: '"ana"', expectVersion: 0 })
          : say(JSON.stringify(lastResult)),
      );
      const agent = new Agent<AppContext>({
        name: "app",
        instructions: "",
        model,
        tools: stateTools(store, { prefix: "team/" }),
      });
      const out = await withFencedRun(store, { owner: "run-ana", keys: ["team/owner"] }, ({ context }) =>
        run(agent, "go", { context: { user: "ana", ...context } }),
      );
      expect(JSON.parse(out.finalOutput!)).toMatchObject({ ok: true, version: 1 });
    });

    it("G2: a run that does not carry the fence cannot write a key another run has claimed (no bypass)", async () => {
      store = await fixture.open();
      const tools = stateTools(store, { prefix: "team/" });
      const model = new PolicyModel(({ call, lastResult }) =>
        call === 0
          ? callTool("commit_state", { key: "plan", value: '["x"]', expectVersion: 0 })
          : say(JSON.stringify(lastResult)),
      );
      const out = await withFencedRun(store, { owner: "run-1", keys: ["team/plan"] }, () =>
        run(new Agent({ name: "stray", instructions: "", model, tools }), "go"),
      );
      expect(JSON.parse(out.finalOutput!)).toMatchObject({
        ok: false,
        error: { code: "FENCED", details: { reason: "no-epoch" } },
      });
      expect((await store.read("team/plan")).exists).toBe(false);
    });
  });
}
