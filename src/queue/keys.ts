/**
 * Where a work queue lives in the core key space. Everything of queue `q` sits under `queues/<q>/`; a task's seq is
 * zero-padded so that listing a prefix (UTF-8 byte order) is listing in enqueue order:
 *
 *   queues/<q>/next               the last seq handed out (its version is that seq)
 *   queues/<q>/ops/<opId>         enqueue idempotency: the seq an opId got and the hash of its payload
 *   queues/<q>/ready/<seq>        a pending task (waiting, delayed by a backoff, or leased); leases are claims on it
 *   queues/<q>/done/<seq>         a completed task with its result (written once: expectVersion 0)
 *   queues/<q>/dead/<seq>         a dead letter: a task that used up its attempts
 */
import { encodeSegment } from "../langgraph/keys.js";

/** Digits of a padded seq: enough for `Number.MAX_SAFE_INTEGER`. */
const SEQ_DIGITS = 16;

/** Where a queue's task is: pending (`ready`), completed (`done`) or dead-lettered (`dead`). */
export type TaskState = "ready" | "done" | "dead";

/** The keys of one queue, or of any sequenced log laid out the same way (the curator's inbox uses `events/`). */
export class QueueKeys {
  readonly prefix: string;
  readonly next: string;

  constructor(
    root: string,
    readonly name: string,
  ) {
    this.prefix = `${root}/${encodeSegment(name)}/`;
    this.next = `${this.prefix}next`;
  }

  /** The idempotency record of one enqueue (or emit) opId. */
  op(opId: string): string {
    return `${this.prefix}ops/${encodeSegment(opId)}`;
  }

  /** The prefix every entry of one directory shares, e.g. `queues/q/ready/`. */
  of(dir: TaskState | (string & {})): string {
    return `${this.prefix}${dir}/`;
  }

  /** The key of entry `seq` in a directory, e.g. `queues/q/ready/0000000000000007`. */
  task(dir: TaskState | (string & {}), seq: number): string {
    return `${this.of(dir)}${String(seq).padStart(SEQ_DIGITS, "0")}`;
  }

  /** The seq at the end of a task key. */
  seqOf(key: string): number {
    return Number(key.slice(key.lastIndexOf("/") + 1));
  }

  /**
   * Whether `key` is a task key this queue writes (`task(dir, seq)`): anything else under its prefix was written
   * there by someone else through the plain store, and the queue leaves it alone.
   */
  isTaskKey(key: string): boolean {
    const tail = key.slice(key.lastIndexOf("/") + 1);
    return tail.length === SEQ_DIGITS && /^\d+$/.test(tail) && Number(tail) > 0;
  }
}
