/**
 * The memory curator on every backend (docs/curator.md): emits idempotent by opId, one curator at a time, a durable
 * cursor advanced in the txn of the writes it caused, so a crash mid-batch neither loses nor doubles a memory and a
 * zombie curator is FENCED (G2) with nothing of its batch landing.
 */
import { Annotation, END, Send, START, StateGraph } from "@langchain/langgraph";
import { afterAll, describe, expect, it } from "vitest";
import type { StateStore } from "../../src/index.js";
import { sleep } from "../../src/core/retry.js";
import { MemoryCurator, MemoryInbox, type MemoryEvent } from "../../src/curator/index.js";
import { FencedStore } from "../../src/langgraph/index.js";
import { backendFixtures, oneFixture } from "../support/backends.js";

const fact = (user: string, key: string, text: string): MemoryEvent => ({
  namespace: ["memories", user],
  key,
  value: { text },
});

/** How many commits wrote the item's record: 1 means stored once. */
async function writesOf(state: StateStore, memory: FencedStore, e: MemoryEvent): Promise<number> {
  const { request } = await memory.putRequest(e.namespace, e.key, e.value);
  return (await state.events(request.key)).filter((x) => x.key === request.key && x.outcome === "committed").length;
}

for (const fixture of backendFixtures()) {
  describe(`memory curator: ${fixture.name}`, () => {
    afterAll(() => fixture.cleanup());
    let clockNow = 1_000_000;
    const open = async () => {
      const state = await fixture.open({ clock: () => clockNow });
      return { state, memory: new FencedStore(state), inbox: new MemoryInbox(state, "team") };
    };

    it("appends an event once per opId; a malformed one is INVALID_INPUT and appends nothing", async () => {
      const { inbox } = await open();
      const a = await inbox.emit(fact("u1", "likes", "tea"), { opId: "w1-1" });
      expect(await inbox.emit(fact("u1", "likes", "tea"), { opId: "w1-1" })).toEqual({ ...a, created: false });
      await expect(inbox.emit(fact("u1", "likes", "coffee"), { opId: "w1-1" })).rejects.toMatchObject({
        code: "IDEMPOTENCY_MISMATCH",
      });
      await expect(inbox.emit({ namespace: [], key: "k", value: { a: 1 } }, { opId: "bad" })).rejects.toMatchObject({
        code: "INVALID_INPUT",
      });
      await expect(
        inbox.emit({ namespace: ["n"], key: "k", value: [1] as never }, { opId: "bad" }),
      ).rejects.toMatchObject({ code: "INVALID_INPUT" });
      expect(await inbox.lastSeq()).toBe(1);
    });

    it("curates in order: validates, dedupes, writes items and advances the cursor in one txn", async () => {
      const { state, memory, inbox } = await open();
      await inbox.emit(fact("u1", "likes", "tea"), { opId: "a" });
      await inbox.emit(fact("u1", "likes", "tea"), { opId: "b" }); // the same memory from another worker
      await inbox.emit(fact("u2", "city", "Lyon"), { opId: "c" });
      await inbox.emit(fact("u2", "pin", "1234"), { opId: "d" });
      await inbox.emit(fact("u2", "city", "Paris"), { opId: "e" }); // a later memory replaces an earlier one
      const curator = new MemoryCurator(state, memory, "team", {
        owner: "curator-1",
        validate: (e) => (String(e.value.text).match(/^\d+$/) ? "looks like a secret" : null),
      });
      await curator.start();
      expect(await curator.step()).toEqual({ from: 1, to: 5, accepted: 3, duplicates: 1, rejected: 1 });
      expect(await curator.step()).toBeNull();
      expect(await inbox.cursor()).toBe(5);
      expect((await memory.get(["memories", "u1"], "likes"))?.value).toEqual({ text: "tea" });
      expect((await memory.get(["memories", "u2"], "city"))?.value).toEqual({ text: "Paris" });
      expect(await memory.get(["memories", "u2"], "pin")).toBeNull();
      expect(await writesOf(state, memory, fact("u1", "likes", "tea"))).toBe(1);
      expect(await writesOf(state, memory, fact("u2", "city", "Paris"))).toBe(1);
      const rejected = await state.list(inbox.keys.of("rejected"));
      expect(rejected.map((r) => r.value)).toEqual([
        { event: fact("u2", "pin", "1234"), reason: "looks like a secret" },
      ]);
      // A memory already stored is a duplicate in a later batch too.
      await inbox.emit(fact("u1", "likes", "tea"), { opId: "f" });
      expect(await curator.step()).toMatchObject({ from: 6, to: 6, accepted: 0, duplicates: 1 });
      expect(await writesOf(state, memory, fact("u1", "likes", "tea"))).toBe(1);
    });

    it("loses and doubles nothing when the curator crashes mid-batch: the next one redoes the batch from the cursor", async () => {
      const { state, memory, inbox } = await open();
      for (let i = 0; i < 6; i++) await inbox.emit(fact("u", `k${i}`, `v${i}`), { opId: `o${i}` });
      const crashing = new MemoryCurator(state, memory, "team", {
        owner: "c1",
        leaseMs: 100,
        batchSize: 4,
        validate: (_e, seq) => {
          if (seq === 7) throw new Error("crash"); // dies in its second batch, before the txn
          return null;
        },
      });
      await crashing.start();
      expect(await crashing.step()).toMatchObject({ from: 1, to: 4, accepted: 4 });
      await inbox.emit(fact("u", "k6", "v6"), { opId: "o6" });
      await expect(crashing.step()).rejects.toThrow("crash");
      expect(await inbox.cursor()).toBe(4);
      clockNow += 101; // its lease runs out
      const next = new MemoryCurator(state, memory, "team", { owner: "c2", batchSize: 4 });
      await next.start();
      expect(await next.step()).toMatchObject({ from: 5, to: 7, accepted: 3, duplicates: 0 });
      for (let i = 0; i < 7; i++) expect(await writesOf(state, memory, fact("u", `k${i}`, `v${i}`))).toBe(1);
    });

    it("G2: fences a zombie curator that stalls mid-batch while another takes over; nothing of its batch lands", async () => {
      const { state, memory, inbox } = await open();
      for (let i = 0; i < 3; i++) await inbox.emit(fact("u", `k${i}`, `v${i}`), { opId: `o${i}` });
      let takeover: Promise<unknown> | undefined;
      const successor = new MemoryCurator(state, memory, "team", { owner: "c2" });
      const zombie = new MemoryCurator(state, memory, "team", {
        owner: "c1",
        leaseMs: 100,
        validate: async (_e, seq) => {
          if (seq === 2 && !takeover) {
            clockNow += 101; // the zombie stalls past its lease; c2 claims and curates everything meanwhile
            takeover = successor.start().then(() => successor.step());
            await takeover;
          }
          return null;
        },
      });
      await zombie.start();
      await expect(zombie.step()).rejects.toMatchObject({ code: "FENCED", details: { key: inbox.cursorKey } });
      expect(await takeover).toMatchObject({ from: 1, to: 3, accepted: 3 });
      expect(await inbox.cursor()).toBe(3);
      for (let i = 0; i < 3; i++) expect(await writesOf(state, memory, fact("u", `k${i}`, `v${i}`))).toBe(1);
      await expect(zombie.step()).rejects.toMatchObject({ code: "FENCED" });
      await expect(new MemoryCurator(state, memory, "team", { owner: "c3" }).start()).rejects.toMatchObject({
        code: "CLAIM_HELD",
      });
    });

    it("stores every memory of many concurrent emitters once while the curator runs", async () => {
      const { state, memory, inbox } = await open();
      const curator = new MemoryCurator(state, memory, "team", { owner: "c", batchSize: 5 });
      await curator.start();
      let emitting = true;
      const curating = (async () => {
        while (emitting || (await inbox.cursor()) < (await inbox.lastSeq())) {
          if (!(await curator.step())) await sleep(1); // idle: let the emitters' timers run
        }
      })();
      const events = Array.from({ length: 4 }, (_, w) =>
        Array.from({ length: 6 }, (_, i) => fact(`w${w}`, `k${i}`, `v${i}`)),
      );
      // Each emitter sends its events twice (a retry with the same opIds).
      await Promise.all(
        events.map(async (mine, w) => {
          for (let round = 0; round < 2; round++)
            for (const [i, e] of mine.entries()) await inbox.emit(e, { opId: `w${w}-${i}` });
        }),
      );
      emitting = false;
      await curating;
      expect(await inbox.lastSeq()).toBe(24);
      for (const e of events.flat()) expect(await writesOf(state, memory, e)).toBe(1);
    });
  });
}

describe("memory curator: LangGraph Send branches as emitters", () => {
  it("stores each branch's memory once, even when the whole run is retried", async () => {
    const fixture = oneFixture(backendFixtures());
    const state = await fixture.open();
    const inbox = new MemoryInbox(state, "graph");
    const AREAS = ["pricing", "competitors", "hiring"];
    const S = Annotation.Root({ runId: Annotation<string>(), area: Annotation<string>() });
    const graph = new StateGraph(S)
      .addNode("learn", async (s) => {
        // The opId names the run and the branch: a retried run (or a replayed task) emits nothing new.
        await inbox.emit(
          { namespace: ["research"], key: s.area, value: { text: `notes on ${s.area}` } },
          { opId: `${s.runId}/${s.area}` },
        );
        return {};
      })
      .addConditionalEdges(START, (s) => AREAS.map((area) => new Send("learn", { runId: s.runId, area })))
      .addEdge("learn", END)
      .compile();
    await graph.invoke({ runId: "run-1" });
    await graph.invoke({ runId: "run-1" }); // the same run, retried
    expect(await inbox.lastSeq()).toBe(3);
    const memory = new FencedStore(state);
    const curator = new MemoryCurator(state, memory, "graph", { owner: "c" });
    await curator.start();
    expect(await curator.step()).toMatchObject({ accepted: 3, duplicates: 0 });
    for (const area of AREAS)
      expect(await writesOf(state, memory, { namespace: ["research"], key: area, value: {} })).toBe(1);
    await fixture.cleanup();
  });
});
