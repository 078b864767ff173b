/**
 * A zombie-safe work queue across OS processes (docs/queue.md). Workers lease tasks from one SQLite file; this
 * script SIGKILLs some of them mid-task and SIGSTOPs one past its lease, lets another worker finish that task, then
 * SIGCONTs the stopped one so that it tries to complete as a zombie. The figures at the end are computed from the
 * store — its records and its event log — not from anything the workers said.
 *
 *   npx tsx examples/work-queue/main.ts [--tasks N] [--workers W]
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { openStore, type StateEvent } from "../../src/index.js";
import { setTimeout as sleep } from "node:timers/promises";
import { workQueue } from "../../src/queue/index.js";

const arg = (flag: string, fallback: number) => {
  const i = process.argv.indexOf(flag);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
};
const TASKS = arg("--tasks", 40);
const WORKERS = arg("--workers", 4);
const KILLS = 2;
const NAME = "jobs";

const dir = mkdtempSync(join(tmpdir(), "fenced-work-queue-"));
const db = join(dir, "state.db");
const store = await openStore({ path: db });
const queue = workQueue(store, NAME);
for (let i = 1; i <= TASKS; i++) await queue.enqueue(i, { opId: `task-${i}` });
await queue.enqueue(1, { opId: "task-1" }); // a retried enqueue: same opId, nothing new

type Line = { worker: string; leased?: number; completed?: number; fenced?: number; exit?: boolean };
interface Running {
  id: string;
  child: ChildProcessWithoutNullStreams;
  exited: Promise<void>;
}
const running: Running[] = [];
let started = 0;
let killed = 0;
let zombie: { worker: Running; seq: number } | undefined;
let zombieDone: Promise<void> | undefined;

function startWorker(): void {
  const id = `worker-${++started}`;
  const child = spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, "worker.ts"), db, NAME, id], {
    stdio: "pipe",
  });
  child.stderr.pipe(process.stderr);
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  const w = { id, child, exited };
  running.push(w);
  createInterface({ input: child.stdout }).on("line", (text) => onLine(w, JSON.parse(text) as Line));
}

function onLine(w: Running, line: Line): void {
  if (line.leased === undefined) {
    if (line.fenced !== undefined) console.log(`  ${w.id} woke up and tried to complete task ${line.fenced}: FENCED`);
    return;
  }
  if (killed < KILLS && line.leased % 7 === 3) {
    killed++;
    w.child.kill("SIGKILL");
    console.log(`  SIGKILL ${w.id} while it works on task ${line.leased}; starting a replacement`);
    startWorker();
  } else if (!zombie && line.leased >= TASKS / 2) {
    zombie = { worker: w, seq: line.leased };
    w.child.kill("SIGSTOP");
    console.log(`  SIGSTOP ${w.id} while it works on task ${line.leased}, past its lease`);
    zombieDone = wakeWhenTakenOver(w, line.leased);
  }
}

/** Waits until another worker has completed the stopped worker's task, then lets the zombie run on. */
async function wakeWhenTakenOver(w: Running, seq: number): Promise<void> {
  while (!(await store.read(queue.keys.task("done", seq))).exists) await sleep(50);
  console.log(`  task ${seq} was leased again and completed by another worker; SIGCONT ${w.id}`);
  w.child.kill("SIGCONT");
}

console.log(`${TASKS} tasks, ${WORKERS} worker processes on ${db}`);
for (let i = 0; i < WORKERS; i++) startWorker();
// Until every worker has exited, replacements started meanwhile included (the stopped one may be one of them).
for (let awaited = 0; awaited < running.length; ) {
  const workers = [...running];
  await Promise.all(workers.map((w) => w.exited));
  awaited = workers.length;
}
await zombieDone;

// The figures, from the store alone.
const prefix = queue.keys.prefix;
const events: StateEvent[] = [];
for (
  let page: StateEvent[];
  (page = await store.events(prefix, { fromSeq: (events.at(-1)?.seq ?? 0) + 1, limit: 10_000 })).length > 0;
)
  events.push(...page);
const enqueued = (await store.read(queue.keys.next)).version;
const completions = new Map<string, number>();
for (const e of events) {
  if (e.outcome === "committed" && e.key.startsWith(queue.keys.of("done")))
    completions.set(e.key, (completions.get(e.key) ?? 0) + 1);
}
const done = await queue.tasks("done", { limit: 10_000 });
const dead = await queue.tasks("dead", { limit: 10_000 });
const once = done.filter((t) => completions.get(t.key) === 1).length;
const twice = [...completions.values()].filter((n) => n > 1).length;
const lost = enqueued - done.length - dead.length;
const zombies = events.filter((e) => e.outcome === "fenced" && /\/complete\/\d+$/.test(e.opId ?? "")).length;
const sum = (await store.read(`${NAME}-results/sum`)).value;
console.log(
  `  sum of the completed payloads, written in each completion's txn: ${String(sum)} (expected ${(TASKS * (TASKS + 1)) / 2})`,
);
console.log(
  `tasks: ${enqueued} enqueued, ${once} completed exactly once, ${lost} lost, ${twice} completed twice, ${zombies} zombie completions fenced`,
);
await store.close();
rmSync(dir, { recursive: true, force: true });
