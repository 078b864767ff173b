/**
 * `fenced mcp`'s tools driven by the official SDK client, in-process, on every backend: each tool, a conflict and a
 * fence as structured results a model can act on, bad input as INVALID_INPUT that changes nothing.
 */
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StateStore } from "../../src/index.js";
import { MCP_TOOLS } from "../../src/mcp/tools.js";
import { backendFixtures } from "../support/backends.js";
import { call, connectInMemory } from "./support.js";

for (const fixture of backendFixtures()) {
  describe(`fenced mcp tools on ${fixture.name}`, () => {
    let store: StateStore;
    let client: Client;
    beforeAll(async () => {
      store = await fixture.open();
      client = await connectInMemory(store);
    });
    afterAll(async () => {
      await client.close();
      await fixture.cleanup();
    });

    it("lists every tool with a JSON Schema object generated from the core's zod schemas", async () => {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toEqual(MCP_TOOLS.map((t) => t.name));
      for (const t of tools) expect(t.inputSchema.type).toBe("object");
      const commit = tools.find((t) => t.name === "commit")!;
      expect(commit.inputSchema.required).toEqual(["key", "op"]);
      expect(Object.keys(commit.inputSchema.properties!)).toEqual(
        expect.arrayContaining(["expectVersion", "epoch", "opId", "guards"]),
      );
    });

    it("reads and commits with versions: set, increment, append, merge, delete, and a replay by opId", async () => {
      expect((await call(client, "read", { key: "t/a" })).structured).toMatchObject({
        key: "t/a",
        exists: false,
        version: 0,
        epoch: 0,
      });
      const set = await call(client, "commit", {
        key: "t/a",
        op: { type: "set", value: { n: 1 } },
        expectVersion: 0,
        opId: "op-1",
      });
      expect(set).toMatchObject({ isError: false, structured: { key: "t/a", version: 1, replayed: false } });
      const again = await call(client, "commit", {
        key: "t/a",
        op: { type: "set", value: { n: 1 } },
        expectVersion: 0,
        opId: "op-1",
      });
      expect(again.structured).toMatchObject({ version: 1, replayed: true });
      await call(client, "commit", { key: "t/n", op: { type: "increment", by: 2 } });
      await call(client, "commit", { key: "t/l", op: { type: "append", items: ["x"] } });
      await call(client, "commit", { key: "t/a", op: { type: "merge", patch: { m: true } }, expectVersion: 1 });
      expect((await call(client, "read", { key: "t/a" })).structured).toMatchObject({
        exists: true,
        version: 2,
        value: { n: 1, m: true },
      });
      expect((await call(client, "read", { key: "t/n" })).structured).toMatchObject({ value: 2 });
      expect((await call(client, "read", { key: "t/l" })).structured).toMatchObject({ value: ["x"] });
      await call(client, "commit", { key: "t/l", op: { type: "delete" } });
      expect((await call(client, "read", { key: "t/l" })).structured).toMatchObject({ exists: false, version: 2 });
    });

    it("returns a conflict as a structured, retryable result with the current version and value", async () => {
      await call(client, "commit", { key: "c/doc", op: { type: "set", value: "theirs" } });
      const r = await call(client, "commit", { key: "c/doc", op: { type: "set", value: "mine" }, expectVersion: 0 });
      expect(r.isError).toBe(true);
      expect(r.structured).toEqual({
        code: "VERSION_CONFLICT",
        retryable: true,
        message: expect.stringContaining("version conflict"),
        details: { key: "c/doc", expectedVersion: 0, actualVersion: 1 },
        current: { key: "c/doc", exists: true, version: 1, epoch: 0, value: "theirs" },
      });
      expect(r.text).toContain("VERSION_CONFLICT");
      expect((await call(client, "read", { key: "c/doc" })).structured).toMatchObject({ value: "theirs" });
    });

    it("claims, renews, fences a zombie commit (FENCED, not retryable), and releases", async () => {
      const a = (await call(client, "claim", { key: "f/job", owner: "a", ttlMs: 60_000 })).structured as {
        epoch: number;
      };
      const held = await call(client, "claim", { key: "f/job", owner: "b", ttlMs: 60_000 });
      expect(held).toMatchObject({
        isError: true,
        structured: { code: "CLAIM_HELD", retryable: true, details: { owner: "a" } },
      });
      expect((await call(client, "renew", { key: "f/job", owner: "a", epoch: a.epoch, ttlMs: 60_000 })).isError).toBe(
        false,
      );
      const b = (await call(client, "claim", { key: "f/job", owner: "b", ttlMs: 60_000, steal: true })).structured as {
        epoch: number;
      };
      const zombie = await call(client, "commit", {
        key: "f/job",
        op: { type: "set", value: "zombie" },
        epoch: a.epoch,
      });
      expect(zombie.structured).toMatchObject({
        code: "FENCED",
        retryable: false,
        details: { key: "f/job", heldEpoch: a.epoch, currentEpoch: b.epoch, reason: "superseded" },
        current: { key: "f/job", version: 0, epoch: 0 },
      });
      const guarded = await call(client, "commit", {
        key: "f/out",
        op: { type: "set", value: 1 },
        guards: [{ key: "f/job", epoch: a.epoch }],
      });
      expect(guarded.structured).toMatchObject({ code: "FENCED", details: { key: "f/job" } });
      expect(
        (await call(client, "renew", { key: "f/job", owner: "a", epoch: a.epoch, ttlMs: 1000 })).structured,
      ).toMatchObject({ code: "FENCED" });
      expect((await call(client, "release", { key: "f/job", owner: "b", epoch: b.epoch })).structured).toEqual({
        released: true,
      });
      expect((await call(client, "release", { key: "f/job", owner: "b", epoch: b.epoch })).structured).toEqual({
        released: false,
      });
    });

    it("updates by JSON Merge Patch, retrying conflicts inside", async () => {
      await call(client, "commit", { key: "u/cfg", op: { type: "set", value: { a: 1, b: { c: 2, d: 3 } } } });
      const r = await call(client, "update", { key: "u/cfg", patch: { b: { c: null, e: 4 }, f: [1] } });
      expect(r.structured).toMatchObject({ version: 2, value: { a: 1, b: { d: 3, e: 4 }, f: [1] }, attempts: 1 });
      const racers = await Promise.all(
        Array.from({ length: 5 }, (_, i) => call(client, "update", { key: "u/race", patch: { [`w${i}`]: i } })),
      );
      expect(racers.every((x) => !x.isError)).toBe(true);
      expect((await call(client, "read", { key: "u/race" })).structured).toMatchObject({
        version: 5,
        value: { w0: 0, w1: 1, w2: 2, w3: 3, w4: 4 },
      });
    });

    it("lists by prefix with pagination", async () => {
      for (const k of ["p/1", "p/2", "p/3"]) await call(client, "commit", { key: k, op: { type: "set", value: k } });
      const page1 = (await call(client, "list", { prefix: "p/", limit: 2 })).structured as {
        records: { key: string }[];
        nextAfter?: string;
      };
      expect(page1.records.map((r) => r.key)).toEqual(["p/1", "p/2"]);
      const page2 = (await call(client, "list", { prefix: "p/", limit: 2, after: page1.nextAfter }))
        .structured as typeof page1;
      expect(page2.records.map((r) => r.key)).toEqual(["p/3"]);
      expect(page2.nextAfter).toBeUndefined();
      expect(page2).toMatchObject({ seq: await store.lastSeq() });
    });

    it("reads several keys at one snapshot with read_many: in the order asked, with the seq they reflect", async () => {
      await call(client, "commit", { key: "m/a", op: { type: "set", value: 1 } });
      const r = await call(client, "read_many", { keys: ["m/b", "m/a"] });
      expect(r.structured).toEqual({
        seq: await store.lastSeq(),
        records: [await store.read("m/b"), await store.read("m/a")],
      });
    });

    it("returns events since a seq, and the seq to poll from next", async () => {
      const first = (await call(client, "events", { prefix: "e/" })).structured as {
        events: unknown[];
        nextSinceSeq: number;
      };
      expect(first.events).toEqual([]);
      await call(client, "commit", { key: "e/x", op: { type: "set", value: 1 } });
      await call(client, "commit", { key: "e/x", op: { type: "set", value: 2 }, expectVersion: 0 });
      const r = (await call(client, "events", { prefix: "e/", sinceSeq: first.nextSinceSeq })).structured as {
        events: { outcome: string; seq: number }[];
        nextSinceSeq: number;
      };
      expect(r.events.map((e) => e.outcome)).toEqual(["committed", "conflict"]);
      expect(r.nextSinceSeq).toBe(r.events[1]!.seq);
      expect(
        ((await call(client, "events", { prefix: "e/", sinceSeq: r.nextSinceSeq })).structured as { events: unknown[] })
          .events,
      ).toEqual([]);
    });

    it("fences an effect: begin under guards, finish, a retry reports done; a moved input refuses", async () => {
      await call(client, "commit", { key: "x/approval", op: { type: "set", value: { ok: true } } });
      const guards = [{ key: "x/approval", version: 1 }];
      const begin = await call(client, "effect_begin", { opId: "mail-1", guards, owner: "agent" });
      expect(begin.structured).toMatchObject({ proceed: true, attempt: 1, key: "effects/mail-1" });
      const finish = await call(client, "effect_finish", {
        opId: "mail-1",
        attempt: 1,
        status: "done",
        result: { messageId: "m1" },
      });
      expect(finish.structured).toMatchObject({ record: { status: "done", result: { messageId: "m1" } } });
      expect((await call(client, "effect_begin", { opId: "mail-1", guards })).structured).toMatchObject({
        proceed: false,
        status: "done",
      });
      await call(client, "commit", { key: "x/approval", op: { type: "set", value: { ok: false } } });
      const moved = await call(client, "effect_begin", { opId: "mail-2", guards });
      expect(moved.structured).toMatchObject({
        code: "VERSION_CONFLICT",
        details: { key: "x/approval", expectedVersion: 1, actualVersion: 2 },
        current: { version: 2, value: { ok: false } },
      });
    });

    it("answers bad input with a structured INVALID_INPUT and writes nothing", async () => {
      const before = await store.backend.lastSeq();
      const bad: [string, Record<string, unknown>][] = [
        ["read", {}],
        ["read", { key: "/x" }],
        ["commit", { key: "b/k", op: { type: "nope" } }],
        ["commit", { key: "b/k", op: { type: "set", value: 1 }, expectVersion: -1 }],
        ["commit", { key: "b/k", op: { type: "set", value: 1 }, extra: 1 }],
        ["commit", { key: "b/k", op: { type: "increment", by: 1 }, guards: [{ key: "g" }] }],
        ["update", { key: "b/k" }],
        ["claim", { key: "b/k", owner: "o", ttlMs: 0 }],
        ["list", { limit: 0 }],
        ["read_many", {}],
        ["read_many", { keys: "m/a" }],
        ["read_many", { keys: ["m/a", "m//b"] }],
        ["events", { sinceSeq: -1 }],
        ["effect_begin", { opId: "" }],
        ["effect_finish", { opId: "nothing", attempt: 1, status: "done" }],
      ];
      for (const [name, args] of bad) {
        const r = await call(client, name, args);
        expect(r, `${name} ${JSON.stringify(args)}`).toMatchObject({
          isError: true,
          structured: { code: "INVALID_INPUT", retryable: false },
        });
        expect((r.structured.details as { issues: unknown[] }).issues.length).toBeGreaterThan(0);
      }
      expect(await store.backend.lastSeq()).toBe(before);
    });

    it("answers an unknown tool with a protocol error naming tools/list", async () => {
      await expect(client.callTool({ name: "drop_table", arguments: {} })).rejects.toThrow(/unknown tool "drop_table"/);
    });
  });
}
