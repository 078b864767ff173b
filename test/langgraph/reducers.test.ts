/**
 * Fenced reducers: a per-field versioned map for state that parallel branches and `Send` workers share.
 * Commutative ops all land; conflicting sets from one base raise VersionConflictError naming both tasks or go through
 * a merge function; nothing is dropped silently (G1, G6).
 */
import { Annotation, END, MemorySaver, Send, START, StateGraph } from "@langchain/langgraph";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { InvalidInputError, VersionConflictError } from "../../src/index.js";
import {
  FencedCheckpointSaver,
  edit,
  fencedMapAnnotation,
  fencedMapReducer,
  fencedMapSchema,
  valuesOf,
  type FencedMap,
  type FencedMapUpdate,
} from "../../src/langgraph/index.js";
import { tempDir } from "../support/backends.js";

type Board = { status: string; score: number; findings: string[]; owners: { [area: string]: string } };
const thread = (id: string) => ({ configurable: { thread_id: id } });

describe("fencedMapReducer", () => {
  const reduce = fencedMapReducer<Board>();

  it("versions each field: a set from the version read lands, a set from an older one is a conflict naming both writers", () => {
    const v1 = reduce({}, edit<Board>({}, "a:1").set("status", "draft"));
    expect(v1.status).toEqual({ value: "draft", version: 1, by: "a:1" });
    const v2 = reduce(v1, edit(v1, "b:2").set("status", "review"));
    expect(v2.status?.version).toBe(2);
    const err = (() => {
      try {
        reduce(v2, edit(v1, "c:3").set("status", "final"));
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(VersionConflictError);
    expect((err as VersionConflictError).details).toMatchObject({ key: "status", expectedVersion: 1, actualVersion: 2, tasks: ["b:2", "c:3"] });
  });

  it("applies increment, append and merge-patch to the current value, whoever wrote it", () => {
    const base = reduce({}, edit<Board>({}, "a").set("score", 1).set("findings", []).set("owners", {}));
    const both = [edit(base, "x").increment("score", 2).append("findings", "x").merge("owners", { ui: "x" }), edit(base, "y").increment("score", 3).append("findings", "y").merge("owners", { db: "y" })].reduce(reduce, base);
    expect(valuesOf(both)).toEqual({ score: 6, findings: ["x", "y"], owners: { ui: "x", db: "y" } });
  });

  it("deletes a field with the same check as set", () => {
    const v1 = reduce({}, edit<Board>({}, "a").set("status", "draft"));
    expect(valuesOf(reduce(v1, edit(v1, "b").delete("status")))).toEqual({});
    expect(() => reduce(v1, edit<Board>({}, "c").delete("status"))).toThrow(VersionConflictError);
  });

  it("rejects a plain value and an op that does not fit the field with INVALID_INPUT", () => {
    expect(() => reduce({}, { status: "x" } as never)).toThrow(InvalidInputError);
    const v1 = reduce({}, edit<Board>({}, "a").set("status", "draft"));
    expect(() => reduce(v1, edit(v1, "b").increment("status"))).toThrow(InvalidInputError);
  });

  it("does not change the map it was given", () => {
    const v1 = reduce({}, edit<Board>({}, "a").set("score", 1));
    const copy = structuredClone(v1);
    reduce(v1, edit(v1, "b").increment("score"));
    expect(v1).toEqual(copy);
  });

  it("an update is plain data: it survives a JSON round trip (LangGraph checkpoints it as a pending write)", () => {
    const update = edit<Board>({ score: { value: 1, version: 4, by: "a" } }, "b").set("score", 2);
    expect(JSON.parse(JSON.stringify(update))).toEqual({ by: "b", ops: [{ field: "score", type: "set", value: 2, expectVersion: 4 }] });
  });
});

describe("fenced maps in graphs", () => {
  const dirs: { remove(): void }[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => d.remove()));

  it("Send workers all land their commutative updates; a later node sets from what it read (Annotation.Root)", async () => {
    const State = Annotation.Root({ board: fencedMapAnnotation<Board>(), areas: Annotation<string[]>() });
    const graph = new StateGraph(State)
      .addNode("plan", (s) => ({ board: edit(s.board).set("status", "researching") }))
      .addNode("research", (arg: { board: FencedMap<Board>; area: string }) => ({
        board: edit(arg.board).append("findings", `found in ${arg.area}`).increment("score").merge("owners", { [arg.area]: "worker" }),
      }))
      .addNode("review", (s) => ({ board: edit(s.board).set("status", `reviewed ${s.board.findings?.value.length} findings`) }))
      .addEdge(START, "plan")
      .addConditionalEdges("plan", (s) => s.areas.map((area) => new Send("research", { board: s.board, area })))
      .addEdge("research", "review")
      .addEdge("review", END)
      .compile({ checkpointer: new MemorySaver() });
    const out = valuesOf((await graph.invoke({ areas: ["ui", "db", "api", "ops"] }, thread("s"))).board);
    expect(out.score).toBe(4);
    expect([...out.findings!].sort()).toEqual(["found in api", "found in db", "found in ops", "found in ui"]);
    expect(Object.keys(out.owners!).sort()).toEqual(["api", "db", "ops", "ui"]);
    expect(out.status).toBe("reviewed 4 findings");
  });

  it("works with zod state schemas, and raises the typed conflict through a FencedCheckpointSaver on SQLite", async () => {
    const tmp = tempDir();
    dirs.push(tmp);
    const saver = await FencedCheckpointSaver.open({ path: `${tmp.dir}/state.db` });
    const State = z.object({ board: fencedMapSchema<Board>(), round: z.number() });
    const build = (second: (s: z.infer<typeof State>) => { board: FencedMapUpdate }) =>
      new StateGraph(State)
        .addNode("left", (s) => ({ board: edit(s.board).set("status", "left wins").increment("score") }))
        .addNode("right", second)
        .addEdge(START, "left")
        .addEdge(START, "right")
        .addEdge("left", END)
        .addEdge("right", END)
        .compile({ checkpointer: saver });

    const fine = build((s) => ({ board: edit(s.board).increment("score", 10) }));
    const out = await fine.invoke({ round: 1 }, thread("z1"));
    expect(valuesOf(out.board)).toEqual({ status: "left wins", score: 11 });
    expect(valuesOf((await fine.getState(thread("z1"))).values.board)).toEqual({ status: "left wins", score: 11 });

    const clash = build((s) => ({ board: edit(s.board).set("status", "right wins") }));
    const err = await clash.invoke({ round: 1 }, thread("z2")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VersionConflictError);
    expect(((err as VersionConflictError).details.tasks as string[]).map((t) => t.split(":")[0]).sort()).toEqual(["left", "right"]);
    await saver.store.close();
  });
});
