/**
 * EncryptedSerializer (issue 19 item 4): what the saver stores is AES-256-GCM ciphertext under a key id, and reading
 * never accepts a value that is tampered with, under a key it does not hold, or plaintext (unless a migration allows
 * plaintext) — each a typed INTEGRITY error (bad keys at construction: INVALID_INPUT). Run with a real StateGraph through FencedCheckpointSaver on every backend.
 */
import { randomBytes } from "node:crypto";
import Database from "better-sqlite3";
import { Command, MemorySaver } from "@langchain/langgraph";
import { JsonPlusSerializer } from "@langchain/langgraph-checkpoint";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { IntegrityError, InvalidInputError, type StateStore } from "../../src/index.js";
import { EncryptedSerializer, FencedCheckpointSaver, importCheckpoints } from "../../src/langgraph/index.js";
import { withPgClient } from "../support/backends.js";
import { approvalGraph, historyOf, runApprovals, thread } from "./fixtures/approval-graph.js";
import { saverFixtures } from "./fixtures/checkpoints.js";

const KEY_1 = randomBytes(32);
const KEY_2 = randomBytes(32);
const SECRET = "patient-record-4711";
const serdeWith = (currentKeyId: string, keys: Record<string, Uint8Array>, allowPlaintext = false) =>
  new EncryptedSerializer({ keys, currentKeyId, allowPlaintext });

/** Every stored piece of every checkpoint of the store: type and bytes, as the backend hands them out. */
async function storedPieces(store: StateStore): Promise<{ type: string; bytes: Uint8Array }[]> {
  const out: { type: string; bytes: Uint8Array }[] = [];
  for (const c of await store.backend.checkpoints!.listCheckpoints({ limit: 10_000 })) {
    out.push({ type: c.type, bytes: c.checkpoint }, { type: c.type, bytes: c.metadata });
    for (const b of c.blobs) if (b.type !== "empty") out.push({ type: b.type, bytes: b.value });
    for (const w of c.writes) out.push({ type: w.type, bytes: w.value });
  }
  return out;
}

/**
 * Flips one bit of the head checkpoint's stored bytes in the database itself (for memory, in the backend's own row:
 * the reader hands out the stored array). Checks that the database really changed.
 */
async function tamperHead(store: StateStore, threadId: string): Promise<void> {
  const [head] = await store.backend.checkpoints!.listCheckpoints({ threadId, ns: "", limit: 1 });
  const where = [threadId, "", head!.checkpointId];
  const at = Math.floor(head!.checkpoint.byteLength / 2);
  const before = Buffer.from(head!.checkpoint);
  if (store.backend.kind === "memory") {
    head!.checkpoint[at]! ^= 1;
  } else if (store.backend.kind === "sqlite") {
    // The backend keeps its file's path to itself; its read connection knows it.
    const file = (store.backend as unknown as { reader: Database.Database }).reader.name;
    const db = new Database(file);
    const row = db
      .prepare("SELECT payload FROM checkpoints WHERE thread_id = ? AND ns = ? AND checkpoint_id = ?")
      .get(...where) as { payload: Buffer };
    row.payload[at] = row.payload[at]! ^ 1; // the checkpoint's bytes open the payload
    db.prepare("UPDATE checkpoints SET payload = ? WHERE thread_id = ? AND ns = ? AND checkpoint_id = ?").run(
      row.payload,
      ...where,
    );
    const stored = db
      .prepare("SELECT payload FROM checkpoints WHERE thread_id = ? AND ns = ? AND checkpoint_id = ?")
      .get(...where) as { payload: Buffer };
    db.close();
    // This store keeps the row it wrote in its cache; the database holds the flipped bit.
    expect(stored.payload.subarray(0, before.byteLength).equals(before)).toBe(false);
    return;
  } else {
    const schema = (store.backend as unknown as { schema: string }).schema;
    await withPgClient((client) =>
      client.query(
        `UPDATE "${schema}".checkpoints SET checkpoint = set_byte(checkpoint, $4, get_byte(checkpoint, $4) # 1)
          WHERE thread_id = $1 AND ns = $2 AND checkpoint_id = $3`,
        [...where, at],
      ),
    );
  }
  const [after] = await store.backend.checkpoints!.listCheckpoints({ threadId, ns: "", limit: 1 });
  expect(Buffer.from(after!.checkpoint).equals(before)).toBe(false);
}

describe("EncryptedSerializer: construction", () => {
  it.each([
    ["a 31-byte key", { keys: { k1: randomBytes(31) }, currentKeyId: "k1" }],
    ["a 16-byte key (AES-128)", { keys: { k1: randomBytes(16) }, currentKeyId: "k1" }],
    ["a key given as text", { keys: { k1: "0".repeat(32) as unknown as Uint8Array }, currentKeyId: "k1" }],
    ["a current key id that names no key", { keys: { k1: KEY_1 }, currentKeyId: "k2" }],
    ["a key id with a '+' in it", { keys: { "k+1": KEY_1 }, currentKeyId: "k+1" }],
    ["no keys at all", { keys: {}, currentKeyId: "k1" }],
  ])("refuses %s with INVALID_INPUT", (_, options) => {
    expect(() => new EncryptedSerializer(options)).toThrow(InvalidInputError);
  });
});

describe("EncryptedSerializer: any value, any single-bit flip (property)", () => {
  const serde = serdeWith("k1", { k1: KEY_1 });

  it("reads back every value exactly as the serializer it wraps does (JSON, bytes, nested, unicode)", async () => {
    const inner = new JsonPlusSerializer();
    const anyValue = fc.oneof(
      fc.jsonValue(),
      fc.uint8Array(),
      // Not "__proto__" as a key: LangGraph's own JsonPlusSerializer cannot round-trip it (its reviver assigns it, which
      // sets the prototype), so there is no inner reading to compare with.
      fc.dictionary(
        fc.string().filter((k) => k !== "__proto__"),
        fc.uint8Array(),
      ),
      fc.string({ unit: "grapheme" }),
    );
    await fc.assert(
      fc.asyncProperty(anyValue, async (value) => {
        const [type, bytes] = await serde.dumpsTyped(value);
        const [innerType, innerBytes] = await inner.dumpsTyped(value);
        expect(type).toBe(`${innerType}+aes256gcm:k1`);
        expect(Buffer.from(bytes).equals(Buffer.from(innerBytes))).toBe(false);
        // What it decrypts is, byte for byte, what the wrapped serializer wrote; so it reads back the same value.
        expect(serde.decrypt(type, bytes)).toEqual([innerType, Uint8Array.from(innerBytes)]);
        const read = await serde.loadsTyped(type, bytes);
        expect(await inner.dumpsTyped(read)).toEqual(
          await inner.dumpsTyped(await inner.loadsTyped(innerType, innerBytes)),
        );
      }),
      { numRuns: 300 },
    );
  });

  it("detects every single-bit flip in the stored bytes or the stored type string", async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), fc.nat(), fc.nat(7), fc.boolean(), async (value, position, bit, inType) => {
        const [type, bytes] = await serde.dumpsTyped(value);
        let badType = type;
        const badBytes = Uint8Array.from(bytes);
        if (inType) {
          const at = position % type.length;
          badType = type.slice(0, at) + String.fromCharCode(type.charCodeAt(at) ^ (1 << bit)) + type.slice(at + 1);
        } else {
          badBytes[position % bytes.length]! ^= 1 << bit;
        }
        const read = serde.loadsTyped(badType, badBytes);
        await expect(read).rejects.toBeInstanceOf(IntegrityError);
        await expect(read).rejects.toMatchObject({ code: "INTEGRITY", retryable: false });
      }),
      { numRuns: 500 },
    );
  });
});

for (const fixture of saverFixtures()) {
  describe(`EncryptedSerializer through FencedCheckpointSaver on ${fixture.name}`, () => {
    afterEach(() => fixture.cleanup());

    it("round-trips a real graph (steps, subgraph, interrupt, pending write, resume) and stores no plaintext", async () => {
      const store = await fixture.open();
      const ours = approvalGraph(new FencedCheckpointSaver(store, { serde: serdeWith("k1", { k1: KEY_1 }) }));
      const theirs = approvalGraph(new MemorySaver());
      for (const graph of [ours, theirs]) await runApprovals(graph, thread("t"), SECRET);
      // Task ids derive from checkpoint ids, which differ between two savers.
      const seen = (s: Awaited<ReturnType<typeof ours.getState>>) => ({
        values: s.values,
        next: s.next,
        tasks: s.tasks.map((t) => ({ name: t.name, interrupts: t.interrupts.map((i) => i.value), result: t.result })),
        step: s.metadata?.step,
      });
      expect(seen(await ours.getState(thread("t"), { subgraphs: true }))).toEqual(
        seen(await theirs.getState(thread("t"), { subgraphs: true })),
      );
      expect((await historyOf(ours, thread("t"))).map(seen)).toEqual((await historyOf(theirs, thread("t"))).map(seen));
      expect((await historyOf(ours, thread("t"))).length).toBeGreaterThan(5);

      const pieces = await storedPieces(store);
      expect(pieces.length).toBeGreaterThan(20);
      for (const p of pieces) {
        expect(p.type).toMatch(/\+aes256gcm:k1$/);
        expect(Buffer.from(p.bytes).includes(SECRET)).toBe(false);
      }
      // The metadata filter of getStateHistory still works on encrypted metadata.
      const filtered = [];
      for await (const s of ours.getStateHistory(thread("t"), { filter: { step: 2 } })) filtered.push(s.metadata?.step);
      expect(filtered).toEqual([2]);
      // The graph goes on: the pending interrupt resumes.
      await ours.invoke(new Command({ resume: "no" }), thread("t"));
      expect((await ours.getState(thread("t"))).values.log).toContain("answer no");
    });

    it("refuses a checkpoint with one flipped bit in the database: INTEGRITY, nothing returned", async () => {
      const store = await fixture.open();
      const graph = approvalGraph(new FencedCheckpointSaver(store, { serde: serdeWith("k1", { k1: KEY_1 }) }));
      await runApprovals(graph, thread("t"));
      await tamperHead(store, "t");
      // A fresh store on the same data reads the row from the database (a store keeps the rows it read or wrote,
      // which never change under the fenced API: tampering is found where the bytes are read from disk).
      const twin = await fixture.openTwin(store);
      const reader = approvalGraph(new FencedCheckpointSaver(twin, { serde: serdeWith("k1", { k1: KEY_1 }) }));
      const read = reader.getState(thread("t"));
      await expect(read).rejects.toBeInstanceOf(IntegrityError);
      await expect(read).rejects.toThrow(/failed authentication/);
      await twin.close();
    });

    it("refuses plaintext rows unless allowPlaintext, which reads them and writes on encrypted", async () => {
      const store = await fixture.open();
      await runApprovals(approvalGraph(new FencedCheckpointSaver(store)), thread("t"), SECRET);
      const strict = approvalGraph(new FencedCheckpointSaver(store, { serde: serdeWith("k1", { k1: KEY_1 }) }));
      await expect(strict.getState(thread("t"))).rejects.toThrow(/is not encrypted; it was refused/);
      await expect(strict.invoke(new Command({ resume: "yes" }), thread("t"))).rejects.toBeInstanceOf(IntegrityError);

      const migrating = approvalGraph(
        new FencedCheckpointSaver(store, { serde: serdeWith("k1", { k1: KEY_1 }, true) }),
      );
      expect((await migrating.getState(thread("t"))).values.log).toContain(SECRET);
      await migrating.invoke(new Command({ resume: "yes" }), thread("t"));
      const [head] = await store.backend.checkpoints!.listCheckpoints({ threadId: "t", ns: "", limit: 1 });
      expect(head!.type).toBe("json+aes256gcm:k1");
      expect((await migrating.getState(thread("t"))).values.log).toEqual([
        SECRET,
        "answer yes",
        "side saw 11",
        "second",
        "answer yes",
        "side saw 22",
      ]);
    });

    it("rotates keys: rows under k1 still read after writing with k2; a serializer without k1 refuses them", async () => {
      const store = await fixture.open();
      await runApprovals(
        approvalGraph(new FencedCheckpointSaver(store, { serde: serdeWith("k1", { k1: KEY_1 }) })),
        thread("t"),
      );
      const rotated = approvalGraph(
        new FencedCheckpointSaver(store, { serde: serdeWith("k2", { k1: KEY_1, k2: KEY_2 }) }),
      );
      await rotated.invoke(new Command({ resume: "yes" }), thread("t"));
      const types = new Set((await storedPieces(store)).map((p) => p.type.replace(/^.*:/, "")));
      expect(types).toEqual(new Set(["k1", "k2"]));
      const history = await historyOf(rotated, thread("t"));
      expect(history[0]!.values.log).toEqual([
        "first",
        "answer yes",
        "side saw 11",
        "second",
        "answer yes",
        "side saw 22",
      ]);

      // k1 cannot be dropped yet: the head shares the values it did not change with its ancestors, stored under k1.
      const k2Only = approvalGraph(new FencedCheckpointSaver(store, { serde: serdeWith("k2", { k2: KEY_2 }) }));
      await expect(k2Only.getState(thread("t"))).rejects.toThrow(/key id "k1", which this serializer does not hold/);
      await expect(historyOf(k2Only, thread("t"))).rejects.toBeInstanceOf(IntegrityError);
      // Same id, other key: authentication fails rather than reading garbage.
      const wrongKey = approvalGraph(
        new FencedCheckpointSaver(store, { serde: serdeWith("k1", { k1: KEY_2, k2: KEY_2 }) }),
      );
      await expect(historyOf(wrongKey, thread("t"))).rejects.toThrow(/failed authentication/);
    });

    it("retires k1 by copying every thread into a new store under k2 (importCheckpoints)", async () => {
      const old = await fixture.open();
      const graph = approvalGraph(new FencedCheckpointSaver(old, { serde: serdeWith("k1", { k1: KEY_1 }) }));
      await runApprovals(graph, thread("t"));
      const fresh = await fixture.open();
      const k2Only = new FencedCheckpointSaver(fresh, { serde: serdeWith("k2", { k2: KEY_2 }) });
      const result = await importCheckpoints({
        from: new FencedCheckpointSaver(old, { serde: serdeWith("k2", { k1: KEY_1, k2: KEY_2 }) }),
        to: k2Only,
      });
      expect(result.verified).toEqual({ ...result.source, heads: result.source.namespaces });
      expect(new Set((await storedPieces(fresh)).map((p) => p.type.replace(/^.*:/, "")))).toEqual(new Set(["k2"]));
      expect(await historyOf(approvalGraph(k2Only), thread("t"))).toEqual(await historyOf(graph, thread("t")));
    });
  });
}

describe("EncryptedSerializer: re-putting a stored checkpoint", () => {
  it("is a no-op for the same checkpoint although its ciphertext differs each time", async () => {
    const saver = await FencedCheckpointSaver.open({ memory: true, serde: serdeWith("k1", { k1: KEY_1 }) });
    const graph = approvalGraph(saver);
    await runApprovals(graph, thread("t"));
    const head = (await saver.getTuple(thread("t")))!;
    const again = await saver.put(head.parentConfig!, head.checkpoint, head.metadata!, {});
    expect(again.configurable?.checkpoint_id).toBe(head.checkpoint.id);
    await expect(
      saver.put(
        head.parentConfig!,
        { ...head.checkpoint, channel_values: { ...head.checkpoint.channel_values, count: 99 } },
        head.metadata!,
        {},
      ),
    ).rejects.toThrow(/already exists with different content/);
    await saver.close();
  });
});
