/**
 * Fenced reducers: a per-field versioned map for state that parallel branches and `Send` workers share.
 * Commutative ops all land; conflicting sets from one base raise VersionConflictError naming both tasks or go through
 * a merge function; nothing is dropped silently (G1, G6).
 */
import { Annotation, Command, END, MemorySaver, Send, START, StateGraph } from "@langchain/langgraph";
import fc from "fast-check";
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
import { saverFixtures } from "./fixtures/checkpoints.js";

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
    expect((err as VersionConflictError).details).toMatchObject({
      key: "status",
      expectedVersion: 1,
      actualVersion: 2,
      tasks: ["b:2", "c:3"],
    });
  });

  it("applies increment, append and merge-patch to the current value, whoever wrote it", () => {
    const base = reduce({}, edit<Board>({}, "a").set("score", 1).set("findings", []).set("owners", {}));
    const both = [
      edit(base, "x").increment("score", 2).append("findings", "x").merge("owners", { ui: "x" }),
      edit(base, "y").increment("score", 3).append("findings", "y").merge("owners", { db: "y" }),
    ].reduce(reduce, base);
    expect(valuesOf(both)).toEqual({ score: 6, findings: ["x", "y"], owners: { ui: "x", db: "y" } });
  });

  it("deletes a field with the same check as set", () => {
    const v1 = reduce({}, edit<Board>({}, "a").set("status", "draft"));
    expect(valuesOf(reduce(v1, edit(v1, "b").delete("status")))).toEqual({});
    expect(() => reduce(v1, edit<Board>({}, "c").delete("status"))).toThrow(VersionConflictError);
  });

  it("a deleted field keeps its version: a writer holding a snapshot from before the delete conflicts with the re-created field (no ABA)", () => {
    const v1 = reduce({}, edit<Board>({}, "a").set("status", "draft"));
    const deleted = reduce(v1, edit(v1, "b").delete("status"));
    expect(deleted.status).toEqual({ deleted: true, version: 2, by: "b" });
    expect(valuesOf(deleted)).toEqual({});
    const recreated = reduce(deleted, edit(deleted, "c").set("status", "again"));
    expect(recreated.status).toEqual({ value: "again", version: 3, by: "c" });
    expect(() => reduce(recreated, edit(v1, "stale").set("status", "overwrite"))).toThrow(VersionConflictError);
    expect(() => reduce(recreated, edit(v1, "stale").delete("status"))).toThrow(VersionConflictError);
    expect(valuesOf(reduce(deleted, edit(deleted, "d").increment("score")))).toEqual({ score: 1 }); // a tombstone reads as missing
  });

  describe("one task's own ops on one field compose in order, without conflicting with themselves", () => {
    const v1 = reduce({}, edit<Board>({}, "a").set("status", "draft").set("score", 5));
    const cases: [string, (e: ReturnType<typeof edit<Board>>) => unknown, Partial<Board>, keyof Board, number][] = [
      ["set + set", (e) => e.set("status", "one").set("status", "two"), { status: "two", score: 5 }, "status", 3],
      ["increment + set", (e) => e.increment("score", 2).set("score", 10), { status: "draft", score: 10 }, "score", 3],
      ["set + increment", (e) => e.set("score", 10).increment("score", 2), { status: "draft", score: 12 }, "score", 3],
      ["set + delete", (e) => e.set("status", "one").delete("status"), { score: 5 }, "status", 3],
      ["delete + set", (e) => e.delete("status").set("status", "back"), { status: "back", score: 5 }, "status", 3],
      [
        "delete + increment + set",
        (e) => e.delete("score").increment("score").set("score", 7),
        { status: "draft", score: 7 },
        "score",
        4,
      ],
    ];
    for (const [name, ops, values, field, version] of cases) {
      it(name, () => {
        const e = edit(v1, "t");
        ops(e);
        const out = reduce(v1, e);
        expect(valuesOf(out)).toEqual(values);
        expect(out[field]?.version).toBe(version);
      });
    }

    it("while another task's change in between still conflicts with the task's set", () => {
      const other = reduce(v1, edit(v1, "other").increment("score"));
      expect(() => reduce(other, edit(v1, "t").increment("score").set("score", 10))).toThrow(VersionConflictError);
    });
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
    expect(JSON.parse(JSON.stringify(update))).toEqual({
      by: "b",
      ops: [{ field: "score", type: "set", value: 2, expectVersion: 4 }],
    });
  });
});

describe("fenced maps in graphs", () => {
  const dirs: { remove(): void }[] = [];
  afterEach(() =>
    dirs.splice(0).forEach((d) => {
      d.remove();
    }),
  );

  it("Send workers all land their commutative updates; a later node sets from what it read (Annotation.Root)", async () => {
    const State = Annotation.Root({ board: fencedMapAnnotation<Board>(), areas: Annotation<string[]>() });
    const graph = new StateGraph(State)
      .addNode("plan", (s) => ({ board: edit(s.board).set("status", "researching") }))
      .addNode("research", (arg: { board: FencedMap<Board>; area: string }) => ({
        board: edit(arg.board)
          .append("findings", `found in ${arg.area}`)
          .increment("score")
          .merge("owners", { [arg.area]: "worker" }),
      }))
      .addNode("review", (s) => ({
        board: edit(s.board).set("status", `reviewed ${s.board.findings?.value?.length} findings`),
      }))
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
    expect(((err as VersionConflictError).details.tasks as string[]).map((t) => t.split(":")[0]).sort()).toEqual([
      "left",
      "right",
    ]);
    await saver.store.close();
  });
});

type Doc = { status: string; score: number; tmp: string };

for (const fixture of saverFixtures()) {
  describe(`fenced maps through LangGraph on ${fixture.name} (13.6)`, () => {
    afterEach(() => fixture.cleanup());

    it("a Send worker holding a snapshot from before a delete conflicts with the re-created field (no ABA)", async () => {
      const saver = await fixture.saver();
      const State = Annotation.Root({ doc: fencedMapAnnotation<Doc>() });
      type Carry = { doc: FencedMap<Doc>; hops: number };
      const graph = new StateGraph(State)
        .addNode("plan", (s) => ({ doc: edit(s.doc).set("status", "draft") }))
        // The worker carries the snapshot it was sent for two more steps, then sets from it.
        .addNode(
          "worker",
          (arg: Carry) =>
            arg.hops > 0
              ? new Command({ goto: new Send("worker", { ...arg, hops: arg.hops - 1 }) })
              : { doc: edit(arg.doc).set("status", "from a stale snapshot") },
          { ends: ["worker"] },
        )
        .addNode("cleanup", (s) => ({ doc: edit(s.doc).delete("status") }))
        .addNode("recreate", (s) => ({ doc: edit(s.doc).set("status", "re-created") }))
        .addEdge(START, "plan")
        .addConditionalEdges("plan", (s) => [new Send("worker", { doc: s.doc, hops: 2 }), "cleanup"])
        .addEdge("cleanup", "recreate")
        .addEdge("recreate", END)
        .compile({ checkpointer: saver });
      const err = await graph.invoke({}, { configurable: { thread_id: "aba" } }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(VersionConflictError);
      expect((err as VersionConflictError).details).toMatchObject({
        key: "status",
        expectedVersion: 1,
        actualVersion: 3,
      });
      // The failed step's writes stay pending (getState would re-raise the conflict); the checkpoint keeps the re-created value.
      const saved = (await saver.getTuple({ configurable: { thread_id: "aba" } }))!.checkpoint.channel_values
        .doc as FencedMap<Doc>;
      expect(valuesOf(saved)).toEqual({ status: "re-created" });
    });

    it("a node's own set + set, increment + set and set + delete compose in order, next to Send workers' increments", async () => {
      const State = Annotation.Root({ doc: fencedMapAnnotation<Doc>() });
      const graph = new StateGraph(State)
        .addNode("seed", (s) => ({ doc: edit(s.doc).set("status", "new").set("score", 1) }))
        .addNode("author", (s) => ({
          doc: edit(s.doc).set("status", "one").set("status", "two").set("tmp", "x").delete("tmp"),
        }))
        .addNode("scorer", (s) => ({ doc: edit(s.doc).increment("score", 5).set("score", 100) }))
        .addNode("bump", () => ({ doc: edit<Doc>(undefined).increment("score") }))
        .addEdge(START, "seed")
        .addConditionalEdges("seed", () => ["author", "scorer", new Send("bump", {}), new Send("bump", {})])
        .addEdge("author", END)
        .addEdge("scorer", END)
        .addEdge("bump", END)
        .compile({ checkpointer: await fixture.saver() });
      const out = await graph.invoke({}, { configurable: { thread_id: "own" } });
      // The Send workers' increments land on top of the scorer's set (task order: pull tasks, then pushes).
      expect(valuesOf(out.doc)).toEqual({ status: "two", score: 102 });
      expect(out.doc.tmp).toMatchObject({ deleted: true });
    });
  });
}

describe("fenced map reducer against a reference model (13.6, property)", () => {
  const FIELDS = ["f0", "f1", "f2"] as const;
  type Field = (typeof FIELDS)[number];
  type Nums = { f0: number; f1: number; f2: number };
  type ModelOp =
    | { field: Field; type: "set"; value: number }
    | { field: Field; type: "delete" }
    | { field: Field; type: "increment"; by: number };
  const field = fc.constantFrom(...FIELDS);
  const modelOp: fc.Arbitrary<ModelOp> = fc.oneof(
    fc.record({ field, type: fc.constant("set" as const), value: fc.integer({ min: -50, max: 50 }) }),
    fc.record({ field, type: fc.constant("delete" as const) }),
    fc.record({ field, type: fc.constant("increment" as const), by: fc.integer({ min: -5, max: 5 }) }),
  );
  /** Steps; each step's tasks all read the state at the step's start, as LangGraph's parallel tasks do. */
  const history = fc.array(fc.array(fc.array(modelOp, { maxLength: 4 }), { minLength: 1, maxLength: 4 }), {
    minLength: 1,
    maxLength: 8,
  });
  const reduce = fencedMapReducer<Nums>();

  it("own ops compose in order; a set/delete after another task's change conflicts; commutative ops all land; no ABA", () => {
    fc.assert(
      fc.property(history, (steps) => {
        let state: FencedMap<Nums> = {};
        /** Changes per field so far, and the counts each earlier snapshot saw. */
        const changes: Record<Field, number> = { f0: 0, f1: 0, f2: 0 };
        const snapshots: { map: FencedMap<Nums>; changes: Record<Field, number> }[] = [];
        for (const tasks of steps) {
          const base = state;
          snapshots.push({ map: base, changes: { ...changes } });
          const updates = tasks.map((ops, i) => {
            const e = edit(base, `task${i}`);
            for (const o of ops) {
              if (o.type === "set") e.set(o.field, o.value);
              else if (o.type === "delete") e.delete(o.field);
              else e.increment(o.field, o.by);
            }
            return e;
          });
          // The model: a task's set/delete conflicts iff an earlier task of the step changed that field.
          const conflicts = tasks.some((ops, j) =>
            ops.some(
              (o) =>
                o.type !== "increment" && tasks.slice(0, j).some((earlier) => earlier.some((e) => e.field === o.field)),
            ),
          );
          let out: FencedMap<Nums> | undefined;
          try {
            out = updates.reduce(reduce, base);
          } catch (err) {
            expect(err).toBeInstanceOf(VersionConflictError);
          }
          expect(out === undefined).toBe(conflicts);
          if (!out) continue; // the step fails; the state stays
          for (const f of FIELDS) {
            const ops = tasks.flat().filter((o) => o.field === f);
            let value: number | undefined = valuesOf(base)[f];
            for (const o of ops)
              value = o.type === "set" ? o.value : o.type === "delete" ? undefined : (value ?? 0) + o.by;
            expect(valuesOf(out)[f]).toBe(value);
            expect(out[f]?.version ?? 0).toBe((base[f]?.version ?? 0) + ops.length);
            changes[f] += ops.length;
          }
          state = out;
        }
        // A set from any earlier snapshot conflicts iff the field changed since, whatever the changes were.
        for (const snap of snapshots) {
          for (const f of FIELDS) {
            const stale = () => reduce(state, edit(snap.map, "stale").set(f, 999));
            if (changes[f] > snap.changes[f]) expect(stale).toThrow(VersionConflictError);
            else expect(valuesOf(stale())[f]).toBe(999);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
