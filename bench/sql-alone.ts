/**
 * The SQL of a fenced write with none of its JavaScript: the statements a commit (or a LangGraph put) runs on SQLite,
 * issued back to back on the store's own writer connection through the backend's own transaction object — no
 * validation, no decision logic, no group commit, no promises, and for a put no serialization (done beforehand). The
 * WAL is managed as the store manages it (the writer's checkpoint thread). What this reaches, divided by a peer's
 * rate, is the most the fenced write could reach on this machine with this storage layout, however little
 * JavaScript ran around it: the ceiling shown beside the core and langgraph figures.
 */
import { join } from "node:path";
import type Database from "better-sqlite3";
import type { BackendTx, KeyState } from "../src/core/backend.js";
import { op, openStore } from "../src/index.js";
import { JsonPlusSerializer } from "@langchain/langgraph-checkpoint";
import { ThreadKeys } from "../src/langgraph/keys.js";
import { serializePut, withOwnRefs, type PutParent } from "../src/langgraph/rows.js";
import type { CheckpointBlob, CheckpointRow } from "../src/core/checkpoints.js";
import type { CheckpointStep } from "./savers.js";

/** The writer internals this replay uses: its connection, its transaction object and its WAL checkpoints. */
interface WriterInternals {
  db: Database.Database;
  group: { tx: BackendTx };
  checkpoints: { landed(transactions: number): void };
}

export interface SqlAlone {
  /** One write, synchronously: BEGIN IMMEDIATE … COMMIT. */
  write(i: number): void;
  close(): Promise<void>;
}

async function openWriter(path: string, durability: "normal" | "full") {
  const store = await openStore({ path, durability });
  // Migrated and opened like any store; one commit so the writer's statements are prepared and the schema is warm.
  await store.commit({ key: "bench/warm", op: op.set(0) });
  const writer = (store.backend as unknown as { writer: WriterInternals }).writer;
  const begin = writer.db.prepare("BEGIN IMMEDIATE");
  const commit = writer.db.prepare("COMMIT");
  return { store, writer, begin, commit };
}

/** Runs `body` in one transaction on the writer, then lets the WAL checkpoints know, as a group commit would. */
function inTransaction(w: Awaited<ReturnType<typeof openWriter>>, body: (tx: BackendTx) => void): void {
  w.begin.run();
  body(w.writer.group.tx);
  w.commit.run();
  w.writer.checkpoints.landed(1);
}

/** What `commit` reads and writes for one `set`: the key's state (record and claim), the record at `version`, its event. */
function writeRecord(tx: BackendTx, key: string, valueText: string, version: number): void {
  const state = tx.getKeyState(key) as KeyState;
  if ((state.record?.version ?? 0) + 1 !== version)
    throw new Error(`sql-alone: ${key} is not at version ${version - 1}`);
  const ts = Date.now();
  tx.putRecord({ key, valueText, version, epoch: 0, updatedAt: ts });
  tx.appendEvent({ ts, key, version, epoch: 0, outcome: "committed" });
}

/**
 * A `StateStore.commit` of a `set` with `expectVersion` on one of `keys` keys, as the core section's commits: the key's
 * state (record and claim), the record, its event.
 */
export async function commitSqlAlone(
  dir: string,
  durability: "normal" | "full",
  keys: number,
  valueText: (i: number) => string,
): Promise<SqlAlone> {
  const w = await openWriter(join(dir, `sql-alone-${durability}.db`), durability);
  const versions = new Array<number>(keys).fill(0);
  return {
    write(i) {
      const k = i % keys;
      const key = `bench/k${k}`;
      const version = versions[k]! + 1;
      inTransaction(w, (tx) => writeRecord(tx, key, valueText(i), version));
      versions[k] = version;
    },
    close: () => w.store.close(),
  };
}

/**
 * A FencedCheckpointSaver put of `steps[i]` as the child of `steps[i - 1]` on one thread: the head's key state, the
 * head record, its event, the checkpoint row (its values packed in it). Each step is serialized before the loop.
 */
export async function putSqlAlone(dir: string, steps: readonly CheckpointStep[]): Promise<SqlAlone> {
  const w = await openWriter(join(dir, "sql-alone-put.db"), "normal");
  const threadId = "sql-alone";
  const key = new ThreadKeys("langgraph", threadId).head("");
  const serde = new JsonPlusSerializer();
  const rows: { row: CheckpointRow; blobs: CheckpointBlob[]; head: string }[] = [];
  let parent: (PutParent & { id: string }) | undefined;
  for (let i = 0; i < steps.length; i++) {
    const { checkpoint, metadata, newVersions } = steps[i]!;
    const parentId = parent?.id ?? null;
    const put = await serializePut(
      serde,
      { threadId, ns: "", parentId },
      checkpoint,
      metadata,
      newVersions,
      parent,
      false,
    );
    const row = withOwnRefs(put, i + 1);
    rows.push({
      row,
      blobs: put.blobs,
      head: JSON.stringify({ checkpointId: checkpoint.id, parentCheckpointId: parentId }),
    });
    parent = { id: checkpoint.id, blobRefs: row.blobRefs, channelVersions: { ...checkpoint.channel_versions } };
  }
  return {
    write(i) {
      const { row, blobs, head } = rows[i]!;
      inTransaction(w, (tx) => {
        writeRecord(tx, key, head, row.headVersion);
        if (!tx.checkpoints!.insertCheckpoint(row, blobs, { existing: "fail" })) {
          throw new Error("sql-alone: checkpoint stored twice");
        }
      });
    },
    close: () => w.store.close(),
  };
}
