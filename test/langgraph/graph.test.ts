/**
 * FencedCheckpointSaver as a drop-in for real graphs: human-in-the-loop interrupts, subgraphs, history, and forks
 * (time travel and updateState on an old checkpoint), which G7 allows only when asked for explicitly.
 */
import { Annotation, Command, END, INTERRUPT, interrupt, START, StateGraph } from "@langchain/langgraph";
import { HumanMessage } from "@langchain/core/messages";
import type { SerializerProtocol } from "@langchain/langgraph-checkpoint";
import { afterEach, describe, expect, it } from "vitest";
import { VersionConflictError } from "../../src/index.js";
import { FencedCheckpointSaver, forkConfig } from "../../src/langgraph/index.js";
import { counterGraph } from "./fixtures/counter.js";
import { checkpoint, from, meta, saverFixtures } from "./fixtures/checkpoints.js";

const thread = (id: string) => ({ configurable: { thread_id: id } });

for (const fixture of saverFixtures()) {
  describe(`real graphs on FencedCheckpointSaver (${fixture.name})`, () => {
    afterEach(() => fixture.cleanup());

    it("pauses at an interrupt and resumes with Command({ resume })", async () => {
      const State = Annotation.Root({ draft: Annotation<string>(), approved: Annotation<boolean>() });
      const graph = new StateGraph(State)
        .addNode("review", (s) => ({ approved: interrupt({ question: `approve ${s.draft}?` }) === "yes" }))
        .addEdge(START, "review")
        .addEdge("review", END)
        .compile({ checkpointer: await fixture.saver() });
      const paused = await graph.invoke({ draft: "v1" }, thread("h"));
      expect((paused as unknown as Record<string, { value: unknown }[]>)[INTERRUPT]?.[0]?.value).toEqual({
        question: "approve v1?",
      });
      expect((await graph.getState(thread("h"))).next).toEqual(["review"]);
      expect(await graph.invoke(new Command({ resume: "yes" }), thread("h"))).toEqual({ draft: "v1", approved: true });
    });

    it("checkpoints subgraphs in their own namespaces", async () => {
      const Inner = Annotation.Root({ n: Annotation<number>() });
      const inner = new StateGraph(Inner)
        .addNode("double", (s) => ({ n: s.n * 2 }))
        .addEdge(START, "double")
        .addEdge("double", END)
        .compile();
      const graph = new StateGraph(Inner)
        .addNode("inner", inner)
        .addNode("inc", (s) => ({ n: s.n + 1 }))
        .addEdge(START, "inner")
        .addEdge("inner", "inc")
        .addEdge("inc", END)
        .compile({ checkpointer: await fixture.saver() });
      expect(await graph.invoke({ n: 5 }, thread("s"))).toEqual({ n: 11 });
      expect(await graph.invoke({ n: 1 }, thread("s"))).toEqual({ n: 3 });
      const history = [];
      for await (const s of graph.getStateHistory(thread("s"))) history.push(s.values.n);
      expect(history[0]).toBe(3);
    });

    it("G7: time travel from an old checkpoint is a conflict unless asked for with forkConfig; then the fork is the head", async () => {
      const graph = counterGraph(await fixture.saver());
      await graph.invoke({ log: ["one"] }, thread("f"));
      await graph.invoke({ log: ["two"] }, thread("f"));
      const history = [];
      for await (const s of graph.getStateHistory(thread("f"))) history.push(s);
      const afterOne = history.find((s) => s.values.count === 1 && s.next.length === 0)!;

      await expect(graph.invoke({ log: ["replay"] }, afterOne.config)).rejects.toBeInstanceOf(VersionConflictError);
      await expect(graph.invoke({ log: ["replay"] }, forkConfig(afterOne.config))).resolves.toMatchObject({
        count: 2,
        log: ["one", "replay"],
      });
      const head = await graph.getState(thread("f"));
      expect(head.values).toEqual({ count: 2, log: ["one", "replay"] });
      // The fork is the head now: a plain run continues from it.
      expect(await graph.invoke({ log: ["three"] }, thread("f"))).toEqual({
        count: 3,
        log: ["one", "replay", "three"],
      });
    });

    it("G7: updateState on an old checkpoint is a conflict unless asked for with forkConfig", async () => {
      const graph = counterGraph(await fixture.saver());
      await graph.invoke({ log: ["one"] }, thread("u"));
      const old = (await graph.getState(thread("u"))).config;
      await graph.invoke({ log: ["two"] }, thread("u"));
      await expect(graph.updateState(old, { count: 100 })).rejects.toBeInstanceOf(VersionConflictError);
      await graph.updateState(forkConfig(old), { count: 100 });
      expect((await graph.getState(thread("u"))).values).toEqual({ count: 100, log: ["one"] });
      // On the head, updateState needs nothing special.
      await graph.updateState(thread("u"), { count: 7 });
      expect((await graph.getState(thread("u"))).values.count).toBe(7);
    });
  });

  describe(`serialization on ${fixture.name}`, () => {
    afterEach(() => fixture.cleanup());

    it("round-trips what LangGraph's serializer round-trips: messages, Set, Map, bytes, undefined, nested values", async () => {
      const saver = await fixture.saver();
      const values = {
        messages: [new HumanMessage({ content: "hi", id: "m1" })],
        set: new Set(["a", "b"]),
        map: new Map([["k", { deep: [1, undefined, null] }]]),
        bytes: new Uint8Array([1, 2, 3]),
        text: "ünïcode ✓",
      };
      const c0 = await saver.put(from("s"), checkpoint(values), meta(0), {
        messages: 1,
        set: 1,
        map: 1,
        bytes: 1,
        text: 1,
      });
      await saver.putWrites(c0, [["messages", [new HumanMessage("pending")]]], "task");
      const tuple = await saver.getTuple(c0);
      expect(tuple?.checkpoint.channel_values).toEqual(values);
      expect((tuple!.checkpoint.channel_values.messages as unknown[])[0]).toBeInstanceOf(HumanMessage);
      expect(tuple?.pendingWrites?.[0]?.[2]).toEqual([new HumanMessage("pending")]);
      values.bytes[0] = 99; // the stored checkpoint does not alias the caller's array
      expect((await saver.getTuple(c0))?.checkpoint.channel_values.bytes).toEqual(new Uint8Array([1, 2, 3]));
    });

    it("works with a serializer of its own (each piece through its loadsTyped)", async () => {
      const reversed: SerializerProtocol = {
        async dumpsTyped(obj) {
          return ["reversed-json", new TextEncoder().encode(JSON.stringify(obj ?? null)).reverse()];
        },
        async loadsTyped(type, data) {
          if (type !== "reversed-json") throw new Error(`unexpected type ${type}`);
          const bytes = typeof data === "string" ? new TextEncoder().encode(data) : Uint8Array.from(data);
          return JSON.parse(new TextDecoder().decode(bytes.reverse()));
        },
      };
      const saver = new FencedCheckpointSaver(await fixture.open(), { serde: reversed });
      const c0 = await saver.put(from("c"), checkpoint({ a: [1, 2] }), meta(0), { a: 1 });
      await saver.putWrites(c0, [["a", "w"]], "t");
      const tuple = await saver.getTuple(c0);
      expect(tuple?.checkpoint.channel_values).toEqual({ a: [1, 2] });
      expect(tuple?.pendingWrites).toEqual([["t", "a", "w"]]);
      expect(tuple?.metadata).toEqual(meta(0));
    });
  });
}
