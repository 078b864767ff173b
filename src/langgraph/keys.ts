/**
 * Where LangGraph state lives in the core key space. Thread ids, checkpoint namespaces and store namespaces are
 * arbitrary strings; each becomes one key segment that contains only `[A-Za-z0-9_.-]` and `%XX` escapes, so it never
 * holds `/`, control characters or `~`, and `~` can mark an empty string or an item key without ambiguity.
 */
import { InvalidInputError } from "../core/errors.js";

/** Encodes any string as one non-empty key segment; `""` becomes `~`. */
export function encodeSegment(s: string): string {
  if (s === "") return "~";
  let encoded: string;
  try {
    encoded = encodeURIComponent(s);
  } catch {
    throw new InvalidInputError({ issues: [{ path: [], message: "ids and namespaces must be well-formed Unicode" }] });
  }
  return encoded.replace(/[!'()*~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The inverse of `encodeSegment`. */
export function decodeSegment(segment: string): string {
  return segment === "~" ? "" : decodeURIComponent(segment);
}

/** The keys of one thread under a saver's key prefix (default `langgraph`). */
export class ThreadKeys {
  /** Every key of the thread starts with this (used by `deleteThread`). */
  readonly prefix: string;
  /** The head of the root namespace; run claims are taken on it, so it is also the thread's fencing key. */
  readonly claimKey: string;

  constructor(
    keyPrefix: string,
    readonly threadId: string,
  ) {
    this.prefix = `${keyPrefix}/${encodeSegment(threadId)}/`;
    this.claimKey = this.head("");
  }

  /** The head record of one checkpoint namespace: its value names the head checkpoint. */
  head(ns: string): string {
    return `${this.prefix}head/${encodeSegment(ns)}`;
  }

  /**
   * Counts the commits that deleted checkpoints other than a whole thread's (prune, deleteForRuns, rollback): a fork
   * and a copy guard its version, so neither builds on a checkpoint deleted after they read it (docs/lifecycle.md).
   */
  get history(): string {
    return `${this.prefix}history`;
  }

  /** The claimed run now on the thread (`ThreadRunRecord`), written under its claim and deleted when it ends. */
  get run(): string {
    return `${this.prefix}run`;
  }

  /** Decodes the thread id of a key under `keyPrefix`, or `undefined` for a key that is no thread's. */
  static threadOf(keyPrefix: string, key: string): string | undefined {
    if (!key.startsWith(`${keyPrefix}/`)) return undefined;
    const segment = key.slice(keyPrefix.length + 1).split("/")[0]!;
    if (segment === "" || segment === "~" || segment.startsWith("~")) return undefined;
    try {
      return decodeSegment(segment);
    } catch {
      return undefined;
    }
  }
}

/** A thread id from a LangGraph config: a non-empty string (numbers are accepted and stringified). */
export function threadIdOf(value: unknown, operation: string): string {
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  if (typeof value === "string" && value !== "") return value;
  throw new InvalidInputError({
    issues: [
      {
        path: ["configurable", "thread_id"],
        message: `${operation} needs configurable.thread_id (a non-empty string)`,
      },
    ],
  });
}
