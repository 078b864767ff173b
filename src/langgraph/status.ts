/**
 * Whether a thread is busy (`threadStatus`), from the run claim and the head: LangGraph Platform's thread status
 * (idle, busy, interrupted) without the Platform. A claimed run records itself (`ThreadRunRecord`) under its claim,
 * so the status names the run, since when it holds the thread, and until when its lease runs.
 */
import type { FencedCheckpointSaver } from "./saver.js";
import { ThreadKeys, threadIdOf } from "./keys.js";
import { pendingInterrupts, type PendingInterrupt } from "./rerun.js";

/** The record a claimed run keeps on its thread while it runs (key `ThreadKeys.run`), written under its claim. */
export interface ThreadRunRecord {
  runId: string;
  owner: string;
  /** The claim's epoch: the record describes the live claim only while the epochs match. */
  epoch: number;
  /** When the run took the thread (store clock, ms). */
  since: number;
  /** The root head when the run started (`null`: an empty thread), and its pending writes (`taskId\0idx`) then. */
  startCheckpointId: string | null;
  startWrites: string[];
}

/** A thread's status: no run holds it and nothing waits (`idle`), a run holds it (`busy`), or interrupts wait for answers. */
export type ThreadStatus =
  | { status: "idle" }
  | {
      status: "busy";
      owner: string;
      /** The run's id (its checkpoints' `metadata.run_id`); `null` for a claim taken outside `withThreadClaim`. */
      runId: string | null;
      /** When the run took the thread; `null` when unknown (as `runId`). */
      since: number | null;
      /** When its lease ends unless renewed. */
      expiresAt: number;
    }
  | { status: "interrupted"; interrupts: PendingInterrupt[] };

/** The status of `threadId` on `saver`: the live run claim first, else the interrupts pending at the root head. */
export async function threadStatus(saver: FencedCheckpointSaver, threadId: string): Promise<ThreadStatus> {
  const keys = new ThreadKeys(saver.keyPrefix, threadIdOf(threadId, "threadStatus"));
  const claim = await saver.store.currentClaim(keys.claimKey);
  if (claim) {
    const run = await saver.store.read(keys.run);
    const record = run.exists ? (run.value as unknown as ThreadRunRecord) : undefined;
    const current = record?.epoch === claim.epoch ? record : undefined;
    return {
      status: "busy",
      owner: claim.owner,
      runId: current?.runId ?? null,
      since: current?.since ?? null,
      expiresAt: claim.expiresAt,
    };
  }
  const interrupts = pendingInterrupts(
    await saver.getTuple({ configurable: { thread_id: keys.threadId, checkpoint_ns: "" } }),
  );
  return interrupts.length > 0 ? { status: "interrupted", interrupts } : { status: "idle" };
}
