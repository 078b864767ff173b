/**
 * Model-based test of the work queue (fast-check `fc.commands`, injected clock): random histories of enqueue (fresh,
 * retried and mismatched opIds), lease, heartbeat, complete (by the current lease, a zombie's, or a retry), fail and
 * clock ticks run against each backend and against a reference model written from docs/queue.md alone. Every outcome
 * must match the model — above all, a completion is accepted iff its lease is the task's live lease (G2: a zombie
 * worker's completion is FENCED), and a retried one replays (G3) — and the event log must show every task completed
 * at most once, by the epoch that held it. test/mutants/core-mutants.test.ts breaks the completion's fence and
 * expects this file to fail.
 */
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { FencedStateError, type StateStore } from "../../src/index.js";
import { WorkQueue, type Lease } from "../../src/queue/index.js";
import { backendFixtures } from "../support/backends.js";

const RUNS = Number(process.env.FENCED_QUEUE_MODEL_RUNS ?? 150);
const WORKERS = ["w0", "w1", "w2"] as const;
const RETRY = { baseMs: 40, maxMs: 100 };
const MAX_ATTEMPTS = 3;

interface ModelTask {
  payload: number;
  state: "ready" | "done" | "dead";
  attempts: number;
  visibleAt: number;
  /** The lease-time hint the scan skips on. */
  leasedUntil: number;
  /** The live-or-lapsed claim: which lease holds it and until when; `null` once released. */
  holder: { lease: number; worker: string; expiresAt: number } | null;
  /** The lease that completed the task. */
  doneBy?: number;
}
interface Model {
  now: number;
  tasks: ModelTask[];
  /** opId → seq */
  ops: Map<string, number>;
  /** lease id → seq, and each worker's lease ids in order. */
  leases: { seq: number; worker: string }[];
  byWorker: Map<string, number[]>;
}
interface Real {
  queue: WorkQueue;
  clock: { now: number };
  leases: Lease[];
}

type Outcome = { ok: unknown } | { code: string };

const run = async (body: () => Promise<unknown>): Promise<Outcome> => {
  try {
    return { ok: await body() };
  } catch (err) {
    if (err instanceof FencedStateError) return { code: err.code };
    throw err;
  }
};

const live = (t: ModelTask, now: number) => t.holder !== null && t.holder.expiresAt > now;
const holds = (m: Model, leaseId: number) => {
  const t = m.tasks[m.leases[leaseId]!.seq - 1]!;
  return t.state === "ready" && t.holder?.lease === leaseId && live(t, m.now);
};

class EnqueueCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly op: number,
    readonly mismatch: boolean,
  ) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    const opId = `op${this.op}`;
    const payload = this.mismatch ? this.op + 100 : this.op;
    let expected: Outcome;
    const known = m.ops.get(opId);
    if (known !== undefined) {
      expected =
        m.tasks[known - 1]!.payload === payload
          ? { ok: { seq: known, created: false } }
          : { code: "IDEMPOTENCY_MISMATCH" };
    } else {
      m.tasks.push({ payload, state: "ready", attempts: 0, visibleAt: 0, leasedUntil: 0, holder: null });
      m.ops.set(opId, m.tasks.length);
      expected = { ok: { seq: m.tasks.length, created: true } };
    }
    const got = await run(async () => {
      const e = await r.queue.enqueue(payload, { opId, maxAttempts: MAX_ATTEMPTS, retry: RETRY });
      return { seq: e.seq, created: e.created };
    });
    expect(got).toEqual(expected);
  }
  toString = () => `enqueue(op${this.op}${this.mismatch ? ", other payload" : ""})`;
}

class LeaseCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly worker: string,
    readonly visibilityMs: number,
  ) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    let expected: { seq: number; payload: number; attempt: number } | null = null;
    for (const [i, t] of m.tasks.entries()) {
      if (t.state !== "ready" || t.visibleAt > m.now || t.leasedUntil > m.now) continue;
      if (live(t, m.now) && t.holder!.worker !== this.worker) continue; // CLAIM_HELD: try the next one
      if (t.attempts >= MAX_ATTEMPTS) {
        t.state = "dead";
        t.holder = null;
        continue;
      }
      t.attempts++;
      t.leasedUntil = m.now + this.visibilityMs;
      t.holder = { lease: m.leases.length, worker: this.worker, expiresAt: m.now + this.visibilityMs };
      m.leases.push({ seq: i + 1, worker: this.worker });
      m.byWorker.set(this.worker, [...(m.byWorker.get(this.worker) ?? []), t.holder.lease]);
      expected = { seq: i + 1, payload: t.payload, attempt: t.attempts };
      break;
    }
    const lease = await r.queue.lease({ owner: this.worker, visibilityMs: this.visibilityMs });
    expect(lease && { seq: lease.seq, payload: lease.payload, attempt: lease.attempt }).toEqual(expected);
    if (lease) r.leases.push(lease);
  }
  toString = () => `lease(${this.worker}, ${this.visibilityMs}ms)`;
}

/** Picks one of a worker's leases: its latest, or an older one (a zombie's view of the world). */
function pick(m: Model, worker: string, older: boolean): number | undefined {
  const mine = m.byWorker.get(worker) ?? [];
  return older ? mine[mine.length - 2] : mine[mine.length - 1];
}

class HeartbeatCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly worker: string,
    readonly older: boolean,
  ) {}
  check = (m: Readonly<Model>) => pick(m as Model, this.worker, this.older) !== undefined;
  async run(m: Model, r: Real): Promise<void> {
    const id = pick(m, this.worker, this.older)!;
    let expected: Outcome = { code: "FENCED" };
    if (holds(m, id)) {
      const t = m.tasks[m.leases[id]!.seq - 1]!;
      t.holder!.expiresAt = m.now + 100;
      expected = { ok: m.now + 100 };
    }
    expect(await run(() => r.queue.heartbeat(r.leases[id]!, 100))).toEqual(expected);
  }
  toString = () => `heartbeat(${this.worker}${this.older ? ", older lease" : ""})`;
}

class CompleteCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly worker: string,
    readonly older: boolean,
  ) {}
  check = (m: Readonly<Model>) => pick(m as Model, this.worker, this.older) !== undefined;
  async run(m: Model, r: Real): Promise<void> {
    const id = pick(m, this.worker, this.older)!;
    const t = m.tasks[m.leases[id]!.seq - 1]!;
    let expected: Outcome = { code: "FENCED" };
    if (holds(m, id)) {
      t.state = "done";
      t.doneBy = id;
      t.holder = null; // complete releases the claim
      expected = { ok: false };
    } else if (t.state === "done" && t.doneBy === id) expected = { ok: true }; // a retry replays
    const got = await run(async () => (await r.queue.complete(r.leases[id]!, `by lease ${id}`)).replayed);
    expect(got).toEqual(expected);
  }
  toString = () => `complete(${this.worker}${this.older ? ", older lease" : ""})`;
}

class FailCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly worker: string) {}
  check = (m: Readonly<Model>) => pick(m as Model, this.worker, false) !== undefined;
  async run(m: Model, r: Real): Promise<void> {
    const id = pick(m, this.worker, false)!;
    const t = m.tasks[m.leases[id]!.seq - 1]!;
    let expected: Outcome = { code: "FENCED" };
    if (holds(m, id)) {
      t.holder = null;
      if (t.attempts >= MAX_ATTEMPTS) {
        t.state = "dead";
        expected = { ok: { status: "dead" } };
      } else {
        t.visibleAt = m.now + Math.min(RETRY.maxMs, RETRY.baseMs * 2 ** (t.attempts - 1));
        t.leasedUntil = 0;
        expected = { ok: { status: "retry", visibleAt: t.visibleAt } };
      }
    }
    expect(await run(() => r.queue.fail(r.leases[id]!, "boom"))).toEqual(expected);
  }
  toString = () => `fail(${this.worker})`;
}

class TickCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly ms: number) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    m.now += this.ms;
    r.clock.now += this.ms;
  }
  toString = () => `tick(${this.ms})`;
}

const worker = fc.constantFrom(...WORKERS);
const commands = [
  fc.tuple(fc.nat(4), fc.boolean()).map(([o, mis]) => new EnqueueCommand(o, mis)),
  fc.tuple(worker, fc.constantFrom(50, 150)).map(([w, v]) => new LeaseCommand(w, v)),
  fc.tuple(worker, fc.boolean()).map(([w, o]) => new HeartbeatCommand(w, o)),
  fc.tuple(worker, fc.boolean()).map(([w, o]) => new CompleteCommand(w, o)),
  worker.map((w) => new FailCommand(w)),
  fc.constantFrom(10, 45, 120).map((ms) => new TickCommand(ms)),
];

for (const fixture of backendFixtures()) {
  describe(`queue model-based: ${fixture.name}`, () => {
    afterAll(() => fixture.cleanup());

    it(`matches the reference model over ${RUNS} random histories; a zombie's completion is FENCED, none lands twice`, async () => {
      const clock = { now: 1_000_000 };
      const store = await fixture.open({ clock: () => clock.now });
      let n = 0;
      await fc.assert(
        fc.asyncProperty(fc.commands(commands, { maxCommands: 60, size: "max" }), async (cmds) => {
          const queue = new WorkQueue(store, `run${n++}`);
          const model: Model = { now: clock.now, tasks: [], ops: new Map(), leases: [], byWorker: new Map() };
          await fc.asyncModelRun(() => ({ model, real: { queue, clock, leases: [] } }), cmds);
          await checkHistory(store, queue, model);
        }),
        { numRuns: RUNS },
      );
      await store.close();
    });
  });
}

/** The stored outcome agrees with the model, and the event log shows each completion once, under the holding epoch. */
async function checkHistory(store: StateStore, queue: WorkQueue, model: Model): Promise<void> {
  const count = (s: ModelTask["state"]) => model.tasks.filter((t) => t.state === s).length;
  expect(await queue.stats()).toEqual({
    enqueued: model.tasks.length,
    pending: count("ready"),
    done: count("done"),
    dead: count("dead"),
  });
  const events = await store.events(queue.keys.prefix, { limit: 100_000 });
  for (const [i, t] of model.tasks.entries()) {
    const seq = i + 1;
    const doneEvents = events.filter((e) => e.key === queue.keys.task("done", seq) && e.outcome === "committed");
    expect(doneEvents).toHaveLength(t.state === "done" ? 1 : 0);
    // The task key's last write before it left ready/ was made under the epoch of the last claim on it.
    let claimed = 0;
    for (const e of events.filter((e) => e.key === queue.keys.task("ready", seq))) {
      if (e.outcome === "claimed") claimed = e.epoch;
      if (e.outcome === "committed" && e.epoch !== 0) expect(e.epoch).toBe(claimed);
    }
  }
}
