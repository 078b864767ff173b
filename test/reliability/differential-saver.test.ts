/**
 * Every backend answers every input the same way: random sequences of saver calls — puts that name any known parent
 * and any used or fresh checkpoint id, small and big values, pending writes, prune (both strategies), deleteForRuns,
 * copyThread, getTuple by id and latest, list — run on the memory, SQLite and PostgreSQL backends side by side; after
 * each call every backend must have answered alike: the same error code (never UNAVAILABLE), or the same result and
 * the same state read back. The pruned-id class (a put reusing the id of a checkpoint whose values are kept: the memory backend handed
 * the head the new value, SQLite and PostgreSQL failed with UNAVAILABLE) is what this suite was written for.
 */
import type { RunnableConfig } from "@langchain/core/runnables";
import type { Checkpoint, CheckpointMetadata, CheckpointTuple } from "@langchain/langgraph-checkpoint";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FencedStateError } from "../../src/index.js";
import { FencedCheckpointSaver } from "../../src/langgraph/index.js";
import { meta } from "../langgraph/fixtures/checkpoints.js";
import { backendFixtures } from "../support/backends.js";

const RUNS = Number(process.env.FENCED_FUZZ_RUNS ?? 300);
const CHANNELS = ["a", "b", "c"] as const;

type Call =
  | {
      kind: "put";
      thread: number;
      /** Parent: the thread's head (-1), none (-2), or the n-th id used so far (mod their count). */
      parent: number;
      /** The id: fresh (-1) or the n-th id used so far. */
      id: number;
      writes: { channel: (typeof CHANNELS)[number]; big: boolean }[];
      run: number;
    }
  | { kind: "putWrites"; thread: number; id: number; task: number; idx: number }
  | { kind: "prune"; threads: number[]; strategy: "keep_latest" | "delete" }
  | { kind: "deleteForRuns"; run: number }
  | { kind: "copyThread"; from: number; to: number }
  | { kind: "getTuple"; thread: number; id: number }
  | { kind: "list"; thread: number };

const thread = fc.integer({ min: 0, max: 1 });
const call: fc.Arbitrary<Call> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("put" as const),
      thread,
      parent: fc.oneof(fc.constant(-1), fc.constant(-1), fc.constant(-2), fc.nat(8)),
      id: fc.oneof(fc.constant(-1), fc.nat(3)),
      writes: fc.uniqueArray(fc.record({ channel: fc.constantFrom(...CHANNELS), big: fc.boolean() }), {
        selector: (w) => w.channel,
        maxLength: 3,
      }),
      run: fc.nat(1),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("putWrites" as const),
      thread,
      id: fc.nat(8),
      task: fc.nat(1),
      idx: fc.integer({ min: -1, max: 1 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("prune" as const),
      threads: fc.uniqueArray(thread, { minLength: 1, maxLength: 2 }),
      strategy: fc.constantFrom("keep_latest" as const, "keep_latest" as const, "delete" as const),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("deleteForRuns" as const), run: fc.nat(1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("copyThread" as const), from: thread, to: thread }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("getTuple" as const), thread, id: fc.integer({ min: -1, max: 8 }) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("list" as const), thread }) },
);

/**
 * The shape that reaches a taken id: a checkpoint writes values, a child inherits them, a prune deletes the first
 * while the head keeps its values, and a put names an id of that thread again. Mixed into the random calls.
 */
const prunedIdScenario: fc.Arbitrary<Call[]> = fc
  .record({
    thread,
    first: fc.uniqueArray(fc.record({ channel: fc.constantFrom(...CHANNELS), big: fc.boolean() }), {
      selector: (w) => w.channel,
      minLength: 1,
      maxLength: 3,
    }),
    reuse: fc.nat(3),
    writes: fc.uniqueArray(fc.record({ channel: fc.constantFrom(...CHANNELS), big: fc.boolean() }), {
      selector: (w) => w.channel,
      maxLength: 3,
    }),
  })
  .map(({ thread, first, reuse, writes }): Call[] => [
    { kind: "put", thread, parent: -1, id: -1, writes: first, run: 0 },
    { kind: "put", thread, parent: -1, id: -1, writes: [], run: 1 },
    { kind: "prune", threads: [thread], strategy: "keep_latest" },
    { kind: "put", thread, parent: -1, id: reuse, writes, run: 0 },
  ]);

const script = fc
  .array(fc.oneof({ weight: 8, arbitrary: call.map((c) => [c]) }, { weight: 1, arbitrary: prunedIdScenario }), {
    minLength: 1,
    maxLength: 16,
  })
  .map((chunks) => chunks.flat());

/** What a call answered, made comparable across backends: an error's code, or the result with its state read back. */
type Answer = { code: string } | { ok: unknown };

/** A checkpoint tuple as every backend must give it back (the config's extra fields and `ts` aside). */
function tupleView(t: CheckpointTuple | undefined) {
  if (!t) return null;
  return {
    id: t.checkpoint.id,
    parent: t.parentConfig?.configurable?.checkpoint_id ?? null,
    values: t.checkpoint.channel_values,
    versions: t.checkpoint.channel_versions,
    metadata: t.metadata,
    writes: t.pendingWrites,
  };
}

async function listView(saver: FencedCheckpointSaver, config: RunnableConfig) {
  const out: unknown[] = [];
  for await (const t of saver.list(config)) out.push(tupleView(t));
  return out;
}

/**
 * One sequence's view of the ids its puts landed, per thread (the same on every backend, since each call's answer is
 * compared): a reused id is one of the same thread's, which is where a taken id matters.
 */
interface Run {
  prefix: string;
  ids: string[][];
  next: number;
}

/** The `n`-th id `thread` landed (mod their count), or `undefined` when it has none. */
const usedId = (run: Run, thread: number, n: number) => {
  const ids = run.ids[thread]!;
  return ids.length === 0 ? undefined : ids[n % ids.length];
};

const threadId = (run: Run, n: number) => `${run.prefix}-t${n}`;
const cfg = (thread: string, checkpointId?: string): RunnableConfig => ({
  configurable: {
    thread_id: thread,
    checkpoint_ns: "",
    ...(checkpointId !== undefined && { checkpoint_id: checkpointId }),
  },
});

async function apply(saver: FencedCheckpointSaver, run: Run, c: Call, freshId: string): Promise<Answer> {
  try {
    switch (c.kind) {
      case "put": {
        const t = threadId(run, c.thread);
        const head = await saver.getTuple(cfg(t));
        const parent =
          c.parent === -1 ? head?.checkpoint.id : c.parent === -2 ? undefined : usedId(run, c.thread, c.parent);
        const id = (c.id === -1 ? undefined : usedId(run, c.thread, c.id)) ?? freshId;
        const base = parent === undefined ? undefined : await saver.getTuple(cfg(t, parent));
        const values: Record<string, unknown> = { ...(base?.checkpoint.channel_values ?? {}) };
        const versions: Record<string, number> = { ...(base?.checkpoint.channel_versions as Record<string, number>) };
        const newVersions: Record<string, number> = {};
        for (const w of c.writes) {
          values[w.channel] = `${id}:${w.channel}:`.padEnd(w.big ? 5000 : 40, w.channel);
          versions[w.channel] = (versions[w.channel] ?? 0) + 1;
          newVersions[w.channel] = versions[w.channel]!;
        }
        const checkpoint: Checkpoint = {
          v: 4,
          id,
          ts: "2026-12-01T00:00:00.000Z",
          channel_values: values,
          channel_versions: versions,
          versions_seen: {},
        };
        const landed = await saver.put(
          cfg(t, parent),
          checkpoint,
          { ...meta(0), run_id: `${run.prefix}-run${c.run}` } as CheckpointMetadata,
          newVersions,
        );
        return { ok: { landed: landed.configurable?.checkpoint_id, state: await listView(saver, cfg(t)) } };
      }
      case "putWrites": {
        const id = usedId(run, c.thread, c.id);
        if (id === undefined) return { ok: "no ids" };
        const t = threadId(run, c.thread);
        await saver.putWrites(cfg(t, id), [["a", `w${c.task}:${c.idx}`]], `task${c.task}`);
        return { ok: tupleView(await saver.getTuple(cfg(t, id))) };
      }
      case "prune": {
        const counts = await saver.prune(
          c.threads.map((n) => threadId(run, n)),
          { strategy: c.strategy },
        );
        return {
          ok: { counts, state: await Promise.all(c.threads.map((n) => listView(saver, cfg(threadId(run, n))))) },
        };
      }
      case "deleteForRuns":
        await saver.deleteForRuns([`${run.prefix}-run${c.run}`]);
        return { ok: await Promise.all([0, 1].map((n) => listView(saver, cfg(threadId(run, n))))) };
      case "copyThread": {
        const counts = await saver.copyThread(threadId(run, c.from), threadId(run, c.to));
        return { ok: { counts, state: await listView(saver, cfg(threadId(run, c.to))) } };
      }
      case "getTuple": {
        const t = threadId(run, c.thread);
        const id = c.id === -1 ? undefined : usedId(run, c.thread, c.id);
        return { ok: tupleView(await saver.getTuple(cfg(t, id))) };
      }
      case "list":
        return { ok: await listView(saver, cfg(threadId(run, c.thread))) };
    }
  } catch (err) {
    if (!(err instanceof FencedStateError)) throw err;
    return { code: err.code };
  }
}

const fixtures = backendFixtures();

describe("every backend answers every saver call the same way", () => {
  const savers: FencedCheckpointSaver[] = [];
  beforeAll(async () => {
    for (const f of fixtures) savers.push(new FencedCheckpointSaver(await f.open()));
  });
  afterAll(async () => {
    for (const s of savers) await s.store.close();
    for (const f of fixtures) await f.cleanup();
  });

  it(
    `${RUNS} random sequences of puts, writes, prunes, deletes, copies and reads on ${fixtures.map((f) => f.name).join(", ")}`,
    async () => {
      let sequence = 0;
      let count = 0;
      const seen = new Map<string, number>();
      await fc.assert(
        fc.asyncProperty(script, async (calls) => {
          const run: Run = { prefix: `s${sequence++}`, ids: [[], []], next: 0 };
          for (const c of calls) {
            const fresh = `1ef00000-0000-6000-8000-${String(run.next++).padStart(12, "0")}`;
            const answers: Answer[] = [];
            for (const saver of savers) answers.push(await apply(saver, run, c, fresh));
            count++;
            const outcome = `${c.kind} ${"code" in answers[0]! ? answers[0].code : "ok"}`;
            seen.set(outcome, (seen.get(outcome) ?? 0) + 1);
            // A deterministic input never gets "outcome unknown", even when every backend would say it.
            expect(answers.map((a) => ("code" in a ? a.code : "ok"))).not.toContain("UNAVAILABLE");
            for (let i = 1; i < answers.length; i++) {
              expect({ backend: fixtures[i]!.name, call: c, answer: answers[i] }).toEqual({
                backend: fixtures[i]!.name,
                call: c,
                answer: answers[0],
              });
            }
            const landed = "ok" in answers[0]! ? (answers[0].ok as { landed?: unknown } | null)?.landed : undefined;
            if (c.kind === "put" && landed === fresh) run.ids[c.thread]!.push(fresh);
          }
        }),
        { numRuns: RUNS },
      );
      expect(count).toBeGreaterThan(RUNS);
      // The sequences reach what they are for: landed puts, prunes, copies, and reused ids refused.
      expect(seen.get("put ok") ?? 0).toBeGreaterThan(RUNS / 2);
      for (const outcome of [
        "prune ok",
        "copyThread ok",
        "deleteForRuns ok",
        "put INVALID_INPUT",
        "put VERSION_CONFLICT",
      ]) {
        expect(seen.get(outcome) ?? 0, outcome).toBeGreaterThan(0);
      }
    },
    30_000 + RUNS * 100,
  );
});
