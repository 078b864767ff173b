/**
 * FencedStore: LangGraph's BaseStore on the core (every write a commit), with putIfVersion and update(fn) for
 * cross-thread memory that concurrent runs can change without losing each other's writes (G1).
 */
import { Annotation, END, getStore, InMemoryStore, START, StateGraph } from "@langchain/langgraph";
import { afterEach, describe, expect, it } from "vitest";
import { InvalidInputError, VersionConflictError } from "../../src/index.js";
import { FencedCheckpointSaver, FencedStore, type FencedItem } from "../../src/langgraph/index.js";
import { backendFixtures } from "../support/backends.js";

for (const fixture of backendFixtures()) {
  describe(`FencedStore on ${fixture.name}`, () => {
    afterEach(() => fixture.cleanup());
    const open = async () => new FencedStore(await fixture.open());

    it("puts, gets and deletes items; createdAt survives an update, updatedAt and version move", async () => {
      const store = await open();
      await store.put(["users", "u1"], "profile", { name: "Ada" });
      const first = await store.get(["users", "u1"], "profile");
      expect(first).toMatchObject({ namespace: ["users", "u1"], key: "profile", value: { name: "Ada" }, version: 1 });
      await new Promise((r) => setTimeout(r, 5));
      await store.put(["users", "u1"], "profile", { name: "Ada L." });
      const second = await store.get(["users", "u1"], "profile");
      expect(second?.value).toEqual({ name: "Ada L." });
      expect(second?.version).toBe(2);
      expect(second?.createdAt).toEqual(first?.createdAt);
      expect(second!.updatedAt.getTime()).toBeGreaterThan(first!.updatedAt.getTime());
      await store.delete(["users", "u1"], "profile");
      expect(await store.get(["users", "u1"], "profile")).toBeNull();
    });

    it("searches a namespace prefix with filters (values and operators), limit and offset, newest first", async () => {
      const store = await open();
      const tick = () => new Promise((r) => setTimeout(r, 3));
      await store.put(["docs", "a"], "1", { kind: "note", score: 1, tags: ["x"] });
      await tick();
      await store.put(["docs", "a"], "2", { kind: "note", score: 5 });
      await tick();
      await store.put(["docs", "b"], "3", { kind: "task", score: 9 });
      await store.put(["docsx"], "4", { kind: "note", score: 7 });
      const keys = async (prefix: string[], options = {}) => (await store.search(prefix, options)).map((i) => i.key);
      expect((await keys(["docs"])).sort()).toEqual(["1", "2", "3"]);
      expect(await keys(["docs"], { filter: { kind: "note" } })).toEqual(["2", "1"]);
      expect(await keys(["docs"], { filter: { score: { $gte: 5 } } })).toEqual(["3", "2"]);
      expect(await keys(["docs"], { filter: { tags: ["x"] } })).toEqual(["1"]);
      expect(await keys(["docs"], { filter: { kind: { $in: ["task"] } } })).toEqual(["3"]);
      expect(await keys(["docs"], { limit: 1, offset: 1 })).toEqual(["2"]);
      expect((await keys([])).sort()).toEqual(["1", "2", "3", "4"]);
    });

    it("lists namespaces with prefix/suffix conditions (wildcards), maxDepth, limit and offset", async () => {
      const store = await open();
      for (const ns of [
        ["a", "b", "c"],
        ["a", "b", "d"],
        ["a", "x"],
        ["z", "b", "c"],
      ])
        await store.put(ns, "k", { v: 1 });
      expect(await store.listNamespaces()).toEqual([
        ["a", "b", "c"],
        ["a", "b", "d"],
        ["a", "x"],
        ["z", "b", "c"],
      ]);
      expect(await store.listNamespaces({ prefix: ["a", "b"] })).toEqual([
        ["a", "b", "c"],
        ["a", "b", "d"],
      ]);
      expect(await store.listNamespaces({ suffix: ["b", "c"] })).toEqual([
        ["a", "b", "c"],
        ["z", "b", "c"],
      ]);
      expect(await store.listNamespaces({ prefix: ["*", "b"] })).toEqual([
        ["a", "b", "c"],
        ["a", "b", "d"],
        ["z", "b", "c"],
      ]);
      expect(await store.listNamespaces({ maxDepth: 1 })).toEqual([["a"], ["z"]]);
      expect(await store.listNamespaces({ limit: 1, offset: 1 })).toEqual([["a", "b", "d"]]);
    });

    it("runs a batch: reads see the store before the batch, its writes land together and the last put of a key wins", async () => {
      const store = await open();
      await store.put(["n"], "a", { v: 0 });
      const [before, , , search] = (await store.batch([
        { namespace: ["n"], key: "a" },
        { namespace: ["n"], key: "a", value: { v: 1 } },
        { namespace: ["n"], key: "a", value: { v: 2 } },
        { namespacePrefix: ["n"], limit: 10, offset: 0 },
      ])) as unknown as [FencedItem | null, undefined, undefined, FencedItem[]];
      expect(before?.value).toEqual({ v: 0 });
      expect(search.map((i) => i.value)).toEqual([{ v: 0 }]);
      expect((await store.get(["n"], "a"))?.value).toEqual({ v: 2 });
    });

    it("putIfVersion replaces only the version it names (G1); 0 means the item must not exist", async () => {
      const store = await open();
      const created = await store.putIfVersion(["m"], "k", { v: 1 }, 0);
      expect(created?.version).toBe(1);
      await expect(store.putIfVersion(["m"], "k", { v: 2 }, 0)).rejects.toBeInstanceOf(VersionConflictError);
      await store.putIfVersion(["m"], "k", { v: 2 }, 1);
      await expect(store.putIfVersion(["m"], "k", { v: 3 }, 1)).rejects.toBeInstanceOf(VersionConflictError);
      expect((await store.get(["m"], "k"))?.value).toEqual({ v: 2 });
      await store.putIfVersion(["m"], "k", null, 2);
      expect(await store.get(["m"], "k")).toBeNull();
    });

    it("update(fn) loses none of many concurrent read-modify-writes; InMemoryStore's get+put loses them", async () => {
      const store = await open();
      await Promise.all(
        Array.from({ length: 20 }, () =>
          store.update(["c"], "counter", (cur) => ({ n: ((cur?.n as number) ?? 0) + 1 })),
        ),
      );
      expect((await store.get(["c"], "counter"))?.value).toEqual({ n: 20 });

      const official = new InMemoryStore();
      await Promise.all(
        Array.from({ length: 20 }, async () => {
          const cur = await official.get(["c"], "counter");
          await new Promise((r) => setTimeout(r, 1));
          await official.put(["c"], "counter", { n: ((cur?.value.n as number) ?? 0) + 1 });
        }),
      );
      expect((await official.get(["c"], "counter"))?.value.n).toBeLessThan(20);
    });

    it("rejects bad input with a typed error and writes nothing", async () => {
      const store = await open();
      await expect(store.put(["a.b"], "k", { v: 1 })).rejects.toMatchObject({
        code: "INVALID_INPUT",
        details: { issues: [{ path: ["namespace"] }] },
      });
      await expect(store.put(["n"], "k", [1, 2] as never)).rejects.toBeInstanceOf(InvalidInputError);
      await expect(store.put(["n"], "k", { when: new Date() })).rejects.toBeInstanceOf(InvalidInputError);
      expect(await store.search([])).toEqual([]);
    });

    it("answers null, mistyped and ill-formed arguments of every method with INVALID_INPUT, never a TypeError (issue 13 item 11)", async () => {
      const store = await open();
      await store.put(["n"], "k", { v: 1 });
      const refused = [
        () => store.get(null as never, "k"),
        () => store.get(["n"], null as never),
        () => store.get(["n\uD800"], "k"),
        () => store.get(["n"], "k\uDC00"),
        () => store.search(null as never),
        () => store.search(["n"], null as never),
        () => store.search(["n"], { limit: -1 }),
        () => store.put([], "k", { v: 1 }),
        () => store.put(["langgraph"], "k", { v: 1 }),
        () => store.put(["a:b"], "k", { v: 1 }),
        () => store.put(null as never, "k", { v: 1 }),
        () => store.put(["n"], "k", "text" as never),
        () => store.put(["n"], "k", { big: 2 ** 53 }),
        () => store.delete(null as never, "k"),
        () => store.listNamespaces(null as never),
        () => store.listNamespaces({ prefix: "n" as never }),
        () => store.putIfVersion(null as never, "k", { v: 2 }, 1),
        () => store.putIfVersion(["n"], "k", { v: 2 }, -1),
        () => store.update(["n"], "k", null as never),
        () => store.update(["n"], "k", (v) => v ?? {}, null as never),
        () => store.batch(null as never),
        () => store.batch([null] as never),
        () => store.batch([{ namespace: null, key: "k" }] as never),
        () => store.batch([{ namespace: ["a.b"], key: "k", value: { v: 2 } }]),
      ];
      for (const [i, call] of refused.entries()) {
        await expect(call(), `call ${i}`).rejects.toMatchObject({ code: "INVALID_INPUT", retryable: false });
        await expect(call(), `call ${i}`).rejects.toBeInstanceOf(InvalidInputError);
      }
      expect(await store.get(["n"], "k")).toMatchObject({ value: { v: 1 }, version: 1 });
      expect(await store.search([])).toHaveLength(1);
    });

    it("stores item values with __proto__ members and reads them back unchanged (issue 15 item 8)", async () => {
      const store = await open();
      const value = JSON.parse('{"__proto__": {"x": 1}, "b": [{"__proto__": 2}]}') as Record<string, unknown>;
      await store.put(["n"], "k", value);
      const item = await store.get(["n"], "k");
      expect(JSON.stringify(item?.value)).toBe(JSON.stringify(value));
      expect(Object.hasOwn(item!.value, "__proto__")).toBe(true);
    });

    it("encodes labels and keys with any characters", async () => {
      const store = await open();
      await store.put(["a/b", "~", "ü x"], "k/=~", { v: 1 });
      expect(await store.listNamespaces()).toEqual([["a/b", "~", "ü x"]]);
      expect(() => FencedStore.from(new InMemoryStore())).toThrow(InvalidInputError);
      expect((await store.search(["a/b"]))[0]).toMatchObject({ namespace: ["a/b", "~", "ü x"], key: "k/=~" });
    });

    it("serves a graph's nodes as cross-thread memory (compile({ store }))", async () => {
      const state = await fixture.open();
      const store = new FencedStore(state);
      const graph = new StateGraph(Annotation.Root({ user: Annotation<string>() }))
        .addNode("remember", async (s) => {
          await FencedStore.from(getStore()).update(["visits"], s.user, (cur) => ({
            count: ((cur?.count as number) ?? 0) + 1,
          }));
          return {};
        })
        .addEdge(START, "remember")
        .addEdge("remember", END)
        .compile({ checkpointer: new FencedCheckpointSaver(state), store });
      await Promise.all(
        ["t1", "t2", "t3"].map((t) => graph.invoke({ user: "ada" }, { configurable: { thread_id: t } })),
      );
      expect((await store.get(["visits"], "ada"))?.value).toEqual({ count: 3 });
    });
  });
}
