/**
 * The memory-curator pattern across OS processes (docs/curator.md). Worker processes append memory events to an
 * inbox (one is SIGKILLed mid-way and restarted: it emits everything again); one curator at a time folds them into a
 * FencedStore. The first curator is SIGKILLed mid-batch; the second is SIGSTOPped mid-batch past its lease, a third
 * takes over, and the second, SIGCONTed, tries to commit its batch as a zombie. The figures are computed from the
 * store: the inbox records, the memory items and the event log.
 *
 *   npx tsx examples/memory-curator/main.ts
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { op, openStore } from "../../src/index.js";
import { setTimeout as sleep } from "node:timers/promises";
import { MemoryEventSchema, MemoryInbox } from "../../src/curator/index.js";
import { FencedStore } from "../../src/langgraph/index.js";

const EMITTERS = 3;
const FACTS = 16;
const dir = mkdtempSync(join(tmpdir(), "fenced-memory-curator-"));
const db = join(dir, "state.db");
const state = await openStore({ path: db });
const memory = new FencedStore(state);
const inbox = new MemoryInbox(state, "team");

type Line = Record<string, unknown>;
function start(file: string, args: string[], onLine: (child: ChildProcessWithoutNullStreams, line: Line) => void) {
  const child = spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, file), db, ...args], {
    stdio: "pipe",
  });
  child.stderr.pipe(process.stderr);
  createInterface({ input: child.stdout }).on("line", (text) => onLine(child, JSON.parse(text) as Line));
  return { child, exited: new Promise<void>((resolve) => child.on("exit", () => resolve())) };
}

console.log(
  `${EMITTERS} worker processes emit ${FACTS} memories each, plus shared ones; curators fold them into a FencedStore`,
);
// Emitters: worker-1 is killed after 5 memories and restarted.
const emitters: Promise<void>[] = [];
let emitterKilled = false;
for (let w = 1; w <= EMITTERS; w++) {
  emitters.push(
    start("emitter.ts", [`worker-${w}`, String(FACTS)], (child, line) => {
      if (w === 1 && !emitterKilled && line.emitted === 4) {
        emitterKilled = true;
        child.kill("SIGKILL");
        console.log("  SIGKILL worker-1 after 5 memories; it restarts and emits all of them again");
        emitters.push(start("emitter.ts", ["worker-1", String(FACTS)], () => undefined).exited);
      }
    }).exited,
  );
}

// Curators: the first is killed mid-batch, the second stopped mid-batch past its lease, the third finishes.
const curators: Promise<void>[] = [];
let zombieWoken: Promise<void> | undefined;
const curator = (id: string, onBatch?: (child: ChildProcessWithoutNullStreams) => void) => {
  let seen = false;
  curators.push(
    start("curator.ts", [id], (child, line) => {
      if (line.fenced)
        console.log(`  ${id} woke up and committed its batch: FENCED (${String(line.reason)}); nothing of it landed`);
      if (line.batch !== undefined && !seen && onBatch && (line.batch as number) > 1) {
        seen = true;
        onBatch(child);
      }
    }).exited,
  );
};
curator("curator-1", (child) => {
  child.kill("SIGKILL");
  console.log("  SIGKILL curator-1 in the middle of a batch; curator-2 takes over when its lease ends");
  curator("curator-2", (stopped) => {
    stopped.kill("SIGSTOP");
    console.log("  SIGSTOP curator-2 in the middle of a batch, past its lease; curator-3 takes over");
    zombieWoken = (async () => {
      const cursor = await inbox.cursor();
      curator("curator-3");
      while ((await inbox.cursor()) === cursor) await sleep(50);
      console.log("  curator-3 has committed a batch; SIGCONT curator-2");
      stopped.kill("SIGCONT");
    })();
  });
});

for (let n = 0; n < emitters.length; n = emitters.length) await Promise.all(emitters);
await state.commit({ key: "curator-example/closed", op: op.set(true) });
while (zombieWoken === undefined) await sleep(50);
await zombieWoken;
for (let n = 0; n < curators.length; n = curators.length) await Promise.all(curators);

// The figures, from the store alone.
const events = await state.list({ prefix: inbox.keys.of("events"), limit: 10_000 });
const emitted = new Map<string, { namespace: string[]; key: string }>();
for (const e of events) {
  const m = MemoryEventSchema.parse(e.value);
  emitted.set(JSON.stringify([m.namespace, m.key]), m);
}
let once = 0;
let lost = 0;
let duplicated = 0;
for (const { namespace, key } of emitted.values()) {
  const { current, request } = await memory.putRequest(namespace, key, {});
  const writes = (await state.events(request.key)).filter(
    (e) => e.key === request.key && e.outcome === "committed",
  ).length;
  if (!current) lost++;
  else if (writes === 1) once++;
  else duplicated++;
}
const zombies = (await state.events(inbox.cursorKey)).filter((e) => e.outcome === "fenced").length;
console.log(
  `  ${events.length} events in the inbox (each opId once), ${events.length - emitted.size} of them duplicates of another worker's memory`,
);
console.log(`  cursor at ${await inbox.cursor()} of ${await inbox.lastSeq()}; ${zombies} zombie curator batch fenced`);
console.log(`memories: ${emitted.size} emitted, ${once} stored once, ${lost} lost, ${duplicated} duplicated`);
await state.close();
rmSync(dir, { recursive: true, force: true });
