/**
 * `FencedSession` under the real `@openai/agents` runner with a fake model: concurrent runs lose no items and never
 * interleave inside a batch, concurrent pops never return the same item (G1), and a zombie run that was interrupted by
 * a newer one is FENCED at its next write (G2).
 */
import { Agent, run, tool, type AgentInputItem } from "@openai/agents";
import { z } from "zod";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { ClaimHeldError, FencedError, op, type StateStore } from "../../../src/index.js";
import { FencedSession } from "../../../adapters/openai-agents/index.js";
import { backendFixtures } from "../../support/backends.js";
import { barrier, callTool, gate, PolicyModel, say } from "./fakeModel.js";
import { offline } from "./offline.js";
import { UnfencedStore } from "./unfencedStore.js";

const net = offline();
afterAll(() => {
  expect(net.fetchAttempts()).toEqual([]);
  net.restore();
});

const note = tool({
  name: "note",
  description: "take a note",
  parameters: z.object({ text: z.string() }),
  execute: ({ text }) => `noted: ${text}`,
});

/** An agent whose run makes one tool call and answers: 4 session items (input, call, result, answer). */
function noteTaker(name: string, lineUp?: () => Promise<void>): Agent {
  const model = new PolicyModel(async ({ call }) => {
    if (call === 0) return callTool("note", { text: name });
    await lineUp?.(); // every run reaches its session write at the same moment
    return say(`${name} done`);
  });
  return new Agent({ name, instructions: "", model, tools: [note] });
}

/** A short, run-identifying label per item, e.g. `call:run0`. */
function label(item: AgentInputItem): string {
  if (item.type === "function_call") return `call:${JSON.parse(item.arguments).text}`;
  if (item.type === "function_call_result") return `result:${JSON.stringify(item.output)}`;
  if (item.type === "message") return `${item.role}:${JSON.stringify(item.content)}`;
  return item.type ?? "?";
}

/** `runs` concurrent runs on one session, all persisting at once. */
async function concurrentRuns(session: FencedSession, runs: number) {
  const lineUp = barrier(runs);
  return Promise.all(
    Array.from({ length: runs }, (_, i) => run(noteTaker(`run${i}`, lineUp), `message ${i}`, { session })),
  );
}

for (const fixture of backendFixtures()) {
  describe(`FencedSession on ${fixture.name}`, () => {
    let store: StateStore;
    afterEach(async () => {
      await store?.close();
      await fixture.cleanup();
    });

    it("stores a run's history and hands it to the next run on the same session", async () => {
      store = await fixture.open();
      const session = new FencedSession({ store, sessionId: "chat-1" });
      await run(noteTaker("first"), "hello", { session });
      let seen: unknown;
      const second = new PolicyModel(({ request }) => {
        seen = request.input;
        return say("second done");
      });
      await run(new Agent({ name: "second", instructions: "", model: second }), "again", { session });

      const items = await session.getItems();
      expect(items.map((i) => i.type)).toEqual([
        "message",
        "function_call",
        "function_call_result",
        "message",
        "message",
        "message",
      ]);
      expect(seen).toEqual(items.slice(0, 5)); // the history plus the new input, as the runner builds it
      expect(await session.getItems(2)).toEqual(items.slice(-2));
      expect(await session.getItems(0)).toEqual([]);
      expect(session.key).toBe("openai-agents/sessions/chat-1");
      expect(await session.getSessionId()).toBe("chat-1");
    });

    it("G1: concurrent runs on one session lose no items, and each run's batch stays contiguous", async () => {
      store = await fixture.open();
      const session = new FencedSession({ store, sessionId: "chat-2" });
      const results = await concurrentRuns(session, 3);

      const items = (await session.getItems()).map(label);
      expect(items).toHaveLength(12);
      for (const [i, r] of results.entries()) {
        const mine = [{ type: "message", role: "user", content: `message ${i}` } as AgentInputItem, ...r.output].map(
          label,
        );
        expect(mine).toHaveLength(4);
        const start = items.indexOf(mine[0]!);
        expect(items.slice(start, start + 4)).toEqual(mine);
      }
    });

    it("mutant: the same runs through a store that writes with a plain read-then-set lose items", async () => {
      store = await fixture.open();
      const session = new FencedSession({ store: new UnfencedStore(store), sessionId: "chat-3" });
      await concurrentRuns(session, 3);
      expect((await session.getItems()).length).toBeLessThan(12);
    });

    it("G1: two concurrent popItem calls never return the same item", async () => {
      store = await fixture.open();
      const session = new FencedSession({ store, sessionId: "chat-4" });
      const items: AgentInputItem[] = ["a", "b", "c"].map((content) => ({ type: "message", role: "user", content }));
      await session.addItems(items);
      const popped = await Promise.all([session.popItem(), session.popItem()]);
      expect(popped.map((p) => (p as { content: string }).content).sort()).toEqual(["b", "c"]);
      expect(await session.getItems()).toEqual([items[0]]);
      expect(await session.popItem()).toEqual(items[0]);
      expect(await session.popItem()).toBeUndefined();
    });

    it("mutant: the same pops through a store that skips the version check return one item twice", async () => {
      store = await fixture.open();
      const unfenced = new UnfencedStore(store);
      const session = new FencedSession({ store: unfenced, sessionId: "chat-5" });
      await session.addItems(["a", "b", "c"].map((content) => ({ type: "message", role: "user", content })));
      // Both pops read before either writes, on every backend (Postgres does not run them in call order).
      const read = unfenced.read.bind(unfenced);
      let reads = 0;
      const bothRead = gate();
      unfenced.read = async (key) => {
        const r = await read(key);
        if (++reads === 2) bothRead.open();
        if (reads <= 2) await bothRead.wait;
        return r;
      };
      const popped = await Promise.all([session.popItem(), session.popItem()]);
      expect(popped[0]).toEqual(popped[1]);
    });

    it("G2: a zombie run interrupted by a newer run is FENCED at its next write and leaves nothing behind", async () => {
      store = await fixture.open();
      const { zombie, newer } = await zombieScenario(store);
      await expect(zombie).rejects.toBeInstanceOf(FencedError);
      await expect(zombie).rejects.toMatchObject({
        code: "FENCED",
        details: { reason: "superseded", heldEpoch: 1, currentEpoch: 2 },
      });
      expect(newer.finalOutput).toBe("newer done");
      const session = new FencedSession({ store, sessionId: "chat-6" });
      expect((await session.getItems()).map(label)).toEqual(
        [{ type: "message", role: "user", content: "newer message" } as AgentInputItem, ...newer.output].map(label),
      );
    });

    it("mutant: the same zombie through a store that ignores epochs writes its stale items", async () => {
      store = await fixture.open();
      const { zombie } = await zombieScenario(new UnfencedStore(store));
      await expect(zombie).resolves.toMatchObject({ finalOutput: "zombie done" });
      const items = await new FencedSession({ store, sessionId: "chat-6" }).getItems();
      expect(items.map(label)).toContain('assistant:[{"type":"output_text","text":"zombie done"}]');
    });

    it("reject policy: a second run on a claimed session gets CLAIM_HELD and writes nothing", async () => {
      store = await fixture.open();
      const session = new FencedSession({ store, sessionId: "chat-7" });
      const attempt = await session.withRun({ owner: "first" }, () =>
        session
          .withRun({ owner: "second" }, ({ context }) => run(noteTaker("second"), "hi", { session, context }))
          .catch((e: unknown) => e),
      );
      expect(attempt).toBeInstanceOf(ClaimHeldError);
      expect(attempt).toMatchObject({ code: "CLAIM_HELD", retryable: true, details: { owner: "first" } });
      expect(await session.getItems()).toEqual([]);
    });

    it("enqueue policy: a second run waits for the first to finish, then runs", async () => {
      store = await fixture.open();
      const session = new FencedSession({ store, sessionId: "chat-8" });
      const order: string[] = [];
      const release = gate();
      const firstHolds = gate();
      const first = session.withRun({ owner: "first" }, async ({ context }) => {
        firstHolds.open();
        await release.wait;
        const r = await run(noteTaker("first"), "one", { session, context });
        order.push("first");
        return r;
      });
      await firstHolds.wait; // the first run holds the claim before the second asks (call order is not commit order on Postgres)
      const second = session.withRun({ owner: "second", onBusy: "enqueue" }, async ({ context }) => {
        const r = await run(noteTaker("second"), "two", { session, context });
        order.push("second");
        return r;
      });
      setTimeout(release.open, 30);
      await Promise.all([first, second]);
      expect(order).toEqual(["first", "second"]);
      expect(
        (await session.getItems()).map((i) => ("content" in i && typeof i.content === "string" ? i.content : i.type)),
      ).toEqual([
        "one",
        "function_call",
        "function_call_result",
        "message",
        "two",
        "function_call",
        "function_call_result",
        "message",
      ]);
    });

    it("G2: a run that does not carry the session's fence cannot write while another run holds it (no bypass)", async () => {
      store = await fixture.open();
      const session = new FencedSession({ store, sessionId: "chat-9" });
      const stray = await session.withRun({ owner: "holder" }, () =>
        run(noteTaker("stray"), "hi", { session }).catch((e: unknown) => e),
      );
      expect(stray).toMatchObject({ code: "FENCED", details: { reason: "no-epoch" } });
      expect(await session.getItems()).toEqual([]);
    });

    it("G2: the run's signal aborts with FENCED once a renewal finds the session taken over", async () => {
      store = await fixture.open();
      const session = new FencedSession({ store, sessionId: "chat-10" });
      const reason = await session.withRun({ owner: "old", ttlMs: 1000, renewEveryMs: 5 }, async ({ signal }) => {
        await store.claim({ key: session.key, owner: "new", ttlMs: 60_000, steal: true });
        // The steal may already have aborted the signal (the event log shows it at once in this process).
        if (signal.aborted) return signal.reason as unknown;
        return new Promise((resolve) => signal.addEventListener("abort", () => resolve(signal.reason), { once: true }));
      });
      expect(reason).toBeInstanceOf(FencedError);
    });

    it("clearSession and popItem are fenced like addItems", async () => {
      store = await fixture.open();
      const session = new FencedSession({ store, sessionId: "chat-11" });
      await session.addItems([{ type: "message", role: "user", content: "keep" }]);
      await session.withRun({ owner: "holder" }, async () => {
        await expect(session.clearSession()).rejects.toMatchObject({ code: "FENCED" });
        await expect(session.popItem()).rejects.toMatchObject({ code: "FENCED" });
      });
      expect(await session.getItems()).toHaveLength(1);
      await session.clearSession();
      expect(await session.getItems()).toEqual([]);
    });

    it("rejects items that are not JSON, and a session key holding something else, with INVALID_INPUT", async () => {
      store = await fixture.open();
      const session = new FencedSession({ store, sessionId: "chat-12" });
      const binary = {
        type: "message",
        role: "user",
        content: "x",
        providerData: { blob: new Uint8Array([1]) },
      } as AgentInputItem;
      await expect(session.addItems([binary])).rejects.toMatchObject({ code: "INVALID_INPUT" });
      expect((await store.read(session.key)).exists).toBe(false);
      // `undefined` fields mean "absent" in JSON and are dropped, as the SDK's own serialisation does.
      await session.addItems([{ type: "message", role: "user", content: "ok", id: undefined }]);
      expect(await session.getItems()).toEqual([{ type: "message", role: "user", content: "ok" }]);

      await store.commit({ key: "openai-agents/sessions/other", op: op.set({ not: "items" }) });
      const other = new FencedSession({ store, sessionId: "other" });
      await expect(other.getItems()).rejects.toMatchObject({ code: "INVALID_INPUT" });
    });
  });
}

/**
 * Run "zombie" claims session chat-6 and stalls in its model call; run "newer" interrupts (reclaims the session),
 * finishes and writes; then the zombie wakes and tries to write its history.
 */
async function zombieScenario(store: StateStore) {
  const session = new FencedSession({ store, sessionId: "chat-6" });
  const entered = gate();
  const stalled = gate();
  const zombieModel = new PolicyModel(async () => {
    entered.open();
    await stalled.wait;
    return say("zombie done");
  });
  const zombie = session.withRun({ owner: "zombie", ttlMs: 60_000 }, ({ context }) =>
    run(new Agent({ name: "zombie", instructions: "", model: zombieModel }), "zombie message", { session, context }),
  );
  zombie.catch(() => undefined); // awaited by the test
  await entered.wait; // the zombie holds the session and is stalled in its model call
  const newerModel = new PolicyModel(() => say("newer done"));
  const newer = await session.withRun({ owner: "newer", onBusy: "interrupt", ttlMs: 60_000 }, ({ context }) =>
    run(new Agent({ name: "newer", instructions: "", model: newerModel }), "newer message", { session, context }),
  );
  stalled.open();
  await zombie.catch(() => undefined);
  return { zombie, newer };
}
