/**
 * Checkpoints encrypted at rest with `EncryptedSerializer` (AES-256-GCM): what the SQLite file holds, what happens to
 * a tampered byte and to plaintext rows, and a key rotation. The keys are made up here; no LLM, no API key.
 *
 *   npx tsx examples/encrypted-checkpoints/main.ts
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { Annotation, Command, END, interrupt, START, StateGraph } from "@langchain/langgraph";
import type { BaseCheckpointSaver } from "@langchain/langgraph-checkpoint";
import { FencedStateError, openStore } from "../../src/index.js";
import { EncryptedSerializer, FencedCheckpointSaver, importCheckpoints } from "../../src/langgraph/index.js";

const State = Annotation.Root({
  note: Annotation<string>(),
  log: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
});
/** Files a patient note, then waits for a doctor's sign-off. */
const intake = (checkpointer: BaseCheckpointSaver) =>
  new StateGraph(State)
    .addNode("file", (s) => ({ log: [`filed: ${s.note}`] }))
    .addNode("sign", () => ({ log: [`signed by ${String(interrupt("sign-off?"))}`] }))
    .addEdge(START, "file")
    .addEdge("file", "sign")
    .addEdge("sign", END)
    .compile({ checkpointer });

const dir = mkdtempSync(join(tmpdir(), "fenced-encrypted-"));
const path = join(dir, "state.db");
const store = await openStore({ path });
const thread = (id: string) => ({ configurable: { thread_id: id } });
const line = (what: string, result: string) => console.log(`  ${what.padEnd(44)} ${result}`);
const outcome = async (read: Promise<unknown>) => {
  try {
    await read;
    return "read";
  } catch (err) {
    return err instanceof FencedStateError ? `${err.name} (${err.code})` : String(err);
  }
};

// Real keys come from a secret manager, e.g. Buffer.from(process.env.CHECKPOINT_KEY_2025!, "base64").
const k2025 = randomBytes(32);
const k2026 = randomBytes(32);
const serde = new EncryptedSerializer({ keys: { k2025 }, currentKeyId: "k2025" });
const graph = intake(new FencedCheckpointSaver(store, { serde }));

console.log("write a thread through EncryptedSerializer (key k2025)");
await graph.invoke({ note: "allergic to penicillin" }, thread("patient-7"));
await store.close(); // so the file on disk is complete
const onDisk = readFileSync(path);
line('the file contains "penicillin"', String(onDisk.includes("penicillin")));
const db = new Database(path);
const types = db.prepare("SELECT DISTINCT type FROM checkpoints").all() as { type: string }[];
line("stored types", types.map((t) => t.type).join(", "));

console.log("flip one bit of the stored checkpoint");
const row = db.prepare("SELECT rowid, payload FROM checkpoints ORDER BY checkpoint_id DESC LIMIT 1").get() as {
  rowid: number;
  payload: Buffer;
};
const original = Buffer.from(row.payload);
row.payload[20]! ^= 1;
db.prepare("UPDATE checkpoints SET payload = ? WHERE rowid = ?").run(row.payload, row.rowid);
// A store opened now reads the row from disk (a store keeps the checkpoints it has read, which never change).
const tampered = await openStore({ path });
line(
  "getState on the tampered thread",
  await outcome(intake(new FencedCheckpointSaver(tampered, { serde })).getState(thread("patient-7"))),
);
await tampered.close();
db.prepare("UPDATE checkpoints SET payload = ? WHERE rowid = ?").run(original, row.rowid);
db.close();
const reopened = await openStore({ path });

console.log("rows written before encryption was turned on");
await intake(new FencedCheckpointSaver(reopened)).invoke({ note: "old plaintext note" }, thread("patient-1"));
line(
  "read with EncryptedSerializer",
  await outcome(intake(new FencedCheckpointSaver(reopened, { serde })).getState(thread("patient-1"))),
);
const migrating = new EncryptedSerializer({ keys: { k2025 }, currentKeyId: "k2025", allowPlaintext: true });
line(
  "read with allowPlaintext: true",
  await outcome(intake(new FencedCheckpointSaver(reopened, { serde: migrating })).getState(thread("patient-1"))),
);

console.log("rotate: write with k2026, keep k2025 for reading");
const rotated = intake(
  new FencedCheckpointSaver(reopened, {
    serde: new EncryptedSerializer({ keys: { k2025, k2026 }, currentKeyId: "k2026" }),
  }),
);
await rotated.invoke(new Command({ resume: "dr. Osei" }), thread("patient-7"));
line("patient-7 after the sign-off", (await rotated.getState(thread("patient-7"))).values.log.join("; "));
const withoutOld = intake(
  new FencedCheckpointSaver(reopened, { serde: new EncryptedSerializer({ keys: { k2026 }, currentKeyId: "k2026" }) }),
);
line("read with k2026 only", await outcome(withoutOld.getState(thread("patient-7"))));

console.log("retire k2025: copy every thread into a new store, re-encrypted under k2026 (importCheckpoints)");
const rekeyed = await openStore({ path: join(dir, "rekeyed.db") });
const reading = new EncryptedSerializer({ keys: { k2025, k2026 }, currentKeyId: "k2026", allowPlaintext: true });
const k2026only = new EncryptedSerializer({ keys: { k2026 }, currentKeyId: "k2026" });
const copy = await importCheckpoints({
  from: new FencedCheckpointSaver(reopened, { serde: reading }),
  to: new FencedCheckpointSaver(rekeyed, { serde: k2026only }),
});
line(
  "copied",
  `${copy.copied.checkpoints} checkpoints, ${copy.copied.writes} writes of ${copy.source.threads} threads`,
);
const after = intake(new FencedCheckpointSaver(rekeyed, { serde: k2026only }));
line("patient-7 in the new store, k2026 only", (await after.getState(thread("patient-7"))).values.log.join("; "));
await rekeyed.close();

await reopened.close();
rmSync(dir, { recursive: true, force: true });
