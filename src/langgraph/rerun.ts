/**
 * Which inputs `invokeWithRetry` may re-run after a conflict, and why not the others. An input is re-run only when
 * its meaning does not depend on the state it was computed from: a human's answer to "approve step 1?" must never
 * be applied to "approve step 2 (payment)?" because the thread moved on (issue 13.4).
 */
import { isCommand, type Command } from "@langchain/langgraph";
import type { CheckpointTuple } from "@langchain/langgraph-checkpoint";
import type { VersionConflictError } from "../core/errors.js";

/**
 * What an invoke was given, as far as re-running it goes:
 * - `input`: new input for the graph's input channels (re-run from the new head: it starts a new run);
 * - `continue`: `null`/`undefined`, which continues whatever the thread waits for (not re-run: the winner continued it);
 * - `resume`: `Command({ resume })` only, an answer to interrupts (re-run only while the same interrupts, by id, wait);
 * - `command`: `Command({ update })` or `Command({ goto })`, with or without `resume` (not re-run: computed from the
 *   state the caller read).
 */
export type InvokeInputKind = "input" | "continue" | "resume" | "command";

/** An interrupt waiting for an answer at a checkpoint (LangGraph's `StateSnapshot.tasks[].interrupts[]`). */
export interface PendingInterrupt {
  id: string;
  value: unknown;
}

/** What a caller-supplied `mayRerun` predicate sees for a conflicted attempt that landed nothing. */
export interface RerunCheck<I> {
  input: I;
  kind: InvokeInputKind;
  /** The attempt's conflict. */
  conflict: VersionConflictError;
  /** Interrupt ids the input answers (a `resume`); empty for other kinds. */
  answers: string[];
  /** The interrupts waiting at the new head. */
  pending: PendingInterrupt[];
  /** The helper's own verdict, and why. */
  rerun: boolean;
  reason: string;
}

/** The kind of an invoke input. */
export function inputKind(input: unknown): InvokeInputKind {
  if (input === null || input === undefined) return "continue";
  if (!isCommand(input)) return "input";
  const command = input as Command;
  const routes = Array.isArray(command.goto)
    ? command.goto.length > 0
    : command.goto !== undefined && command.goto !== null;
  if ((command.update !== undefined && command.update !== null) || routes) return "command";
  return command.resume !== undefined && command.resume !== null ? "resume" : "command";
}

/** The interrupts waiting at a checkpoint: interrupt writes of tasks that have no output yet (as LangGraph counts). */
export function pendingInterrupts(tuple: CheckpointTuple | undefined): PendingInterrupt[] {
  const writes = tuple?.pendingWrites ?? [];
  const finished = new Set(writes.filter(([, channel]) => !NOT_OUTPUT.has(channel)).map(([taskId]) => taskId));
  const out = new Map<string, PendingInterrupt>();
  for (const [taskId, channel, value] of writes) {
    if (channel !== INTERRUPT || finished.has(taskId) || !Array.isArray(value)) continue;
    for (const i of value as unknown[]) {
      const id = (i as { id?: unknown } | null)?.id;
      if (typeof id === "string") out.set(id, { id, value: (i as { value?: unknown }).value });
    }
  }
  return [...out.values()];
}

/**
 * The interrupt ids a `Command({ resume })` answers: the keys of a resume map (`{ [interruptId]: value }`), else
 * every interrupt that waited at the checkpoint the attempt ran from (a plain value answers what is pending).
 */
export function answeredInterrupts(input: unknown, pendingAtStart: PendingInterrupt[]): string[] {
  const resume = isCommand(input) ? (input as Command).resume : undefined;
  return isResumeMap(resume) ? Object.keys(resume) : pendingAtStart.map((i) => i.id);
}

/** True for `{ [interruptId]: value }`, LangGraph's addressed resume (the keys are XXH3 hex digests). */
export function isResumeMap(resume: unknown): resume is Record<string, unknown> {
  if (typeof resume !== "object" || resume === null || Array.isArray(resume)) return false;
  const keys = Object.keys(resume);
  return keys.length > 0 && keys.every((k) => /^[0-9a-f]{32}$/.test(k));
}

/**
 * The default verdict for re-running a conflicted attempt that landed nothing. `knownStart`: the attempt ran from the
 * head the helper read just before it, so `answers` (the interrupts it answered) are known; `pending`: the interrupts
 * waiting at the new head.
 */
export function defaultVerdict(
  kind: InvokeInputKind,
  answers: string[],
  knownStart: boolean,
  pending: PendingInterrupt[],
): { rerun: boolean; reason: string } {
  switch (kind) {
    case "input":
      return { rerun: true, reason: "new input starts a new run from whatever head there is" };
    case "continue":
      return {
        rerun: false,
        reason: "a null input continues what the thread waited for, and another run already advanced it",
      };
    case "command":
      return {
        rerun: false,
        reason:
          "Command({ update }) / Command({ goto }) was computed from the state the caller read, and the thread moved on",
      };
    case "resume": {
      if (!knownStart)
        return {
          rerun: false,
          reason: "the thread moved before the attempt loaded it, so which interrupt it answered is unknown",
        };
      if (answers.length === 0) return { rerun: false, reason: "the resume answered no pending interrupt" };
      const waiting = new Set(pending.map((i) => i.id));
      const gone = answers.filter((id) => !waiting.has(id));
      if (gone.length === 0)
        return { rerun: true, reason: `interrupt ${answers.join(", ")} is still pending at the thread's head` };
      const now = pending.length === 0 ? "none" : pending.map((i) => `${i.id} (${JSON.stringify(i.value)})`).join(", ");
      return {
        rerun: false,
        reason: `interrupt ${gone.join(", ")} that the resume answers is no longer pending at the thread's head (pending now: ${now})`,
      };
    }
  }
}

const INTERRUPT = "__interrupt__";
/** Special write channels that do not mean a task finished (LangGraph's `isTaskOutput`). */
const NOT_OUTPUT = new Set(["__error__", "__error_source_node__", "__interrupt__", "__resume__"]);
