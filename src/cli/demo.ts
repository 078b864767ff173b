/**
 * `fenced demo`: a lost update and a zombie write, first as they happen without fencing, then as fenced-state stops
 * them — on the embedded SQLite default, with no keys and no network. Writers interleave in a fixed order, so the
 * output is the same on every run.
 */
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { FencedStateError } from "../core/errors.js";
import type { Json } from "../core/json.js";
import { op } from "../core/ops.js";
import type { StateStore } from "../core/store.js";
import { openStore } from "../open.js";
import type { Command } from "./command.js";

const DEFAULT_DIR = ".fenced/demo";
const STORE_FILE = "state.db";
const OFFICIAL_FILE = "official-sqlitesaver.db";
/** The one line printed instead of part 3 when the LangGraph packages are not installed. */
const LANGGRAPH_MISSING =
  "fenced demo: part 3 needs LangGraph and its official SqliteSaver: npm install @langchain/langgraph @langchain/langgraph-checkpoint-sqlite";

const USAGE = `Usage: fenced demo [--dir DIR] [--increments N]

Shows, on real SQLite files:
  1. two writers doing read-modify-write on one counter: without a version check updates are lost with no
     error; with fenced-state the loser gets a typed VERSION_CONFLICT, re-reads and retries, and the total is right;
  2. a zombie: a claim holder stalls, another worker reclaims the key, the zombie wakes and writes. Without
     fencing its stale write lands; with fenced-state it is rejected with FENCED, even though the version
     it read had not moved;
  3. LangGraph: two concurrent invokes on one thread with the official SqliteSaver (one update lost, no
     error) and with FencedCheckpointSaver (a typed conflict; invokeWithRetry ends with the right count).
     Part 3 needs the LangGraph packages: npm install @langchain/langgraph @langchain/langgraph-checkpoint-sqlite

Options:
  --dir DIR         where the demo writes, emptied on each run (default ${DEFAULT_DIR}): ${STORE_FILE}
                    (fenced-state, every part) and ${OFFICIAL_FILE} (LangGraph's official saver, part 3)
  --increments N    increments per writer (default 5)
`;

export const demo: Command = {
  summary:
    "show lost updates (core and LangGraph's official saver) and a zombie write, and how fenced-state stops them",
  usage: USAGE,
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: { dir: { type: "string", default: DEFAULT_DIR }, increments: { type: "string", default: "5" } },
    });
    const increments = Number(values.increments);
    if (!Number.isInteger(increments) || increments < 1 || increments > 10_000) {
      process.stderr.write("fenced demo: --increments must be an integer from 1 to 10000\n");
      return 2;
    }
    const dir = values.dir;
    // Only files this command wrote are removed: a --dir pointing at anything else is left alone.
    for (const file of [STORE_FILE, OFFICIAL_FILE]) {
      for (const suffix of ["", "-wal", "-shm"]) rmSync(join(dir, `${file}${suffix}`), { force: true });
    }
    mkdirSync(dir, { recursive: true });
    const store = await openStore({ path: join(dir, STORE_FILE) });
    const out = (line = "") => process.stdout.write(`${line}\n`);
    try {
      out(`fenced-state demo — embedded SQLite, files in ${dir}/`);
      const lost = await lostUpdate(store, increments, out);
      const zombie = await zombieWrite(store, out);
      const lg = await loadLangGraphPart();
      const graph = lg && (await lg.langgraphLostUpdate(store, join(dir, OFFICIAL_FILE), out));
      out();
      if (graph) {
        out(
          `Summary: without fencing ${lost.unfencedLost} of ${2 * increments} increments were lost, the zombie's stale write landed,`,
        );
        out(`         and LangGraph's official SqliteSaver ended at count ${graph.officialCount} instead of 2;`);
        out(
          `         with fenced-state 0 were lost (${lost.conflicts} typed conflicts, all retried), the zombie got ${zombie.code},`,
        );
        out(`         and FencedCheckpointSaver ended at count ${graph.fencedCount}.`);
      } else {
        out(
          `Summary: without fencing ${lost.unfencedLost} of ${2 * increments} increments were lost and the zombie's stale write landed;`,
        );
        out(
          `         with fenced-state 0 were lost (${lost.conflicts} typed conflicts, all retried) and the zombie got ${zombie.code}.`,
        );
        process.stderr.write(`${LANGGRAPH_MISSING}\n`);
      }
      return lost.fencedTotal === 2 * increments && zombie.code === "FENCED" && graph?.fencedCount === 2 ? 0 : 1;
    } finally {
      await store.close();
    }
  },
};

type Out = (line?: string) => void;

/** Part 3's module, or `undefined` when a LangGraph package it imports is not installed (they are optional peers). */
async function loadLangGraphPart(): Promise<typeof import("./demo-langgraph.js") | undefined> {
  try {
    return await import("./demo-langgraph.js");
  } catch (err) {
    const missing = (err as { code?: string }).code === "ERR_MODULE_NOT_FOUND" && /'@langchain\//.test(String(err));
    if (missing) return undefined;
    throw err;
  }
}

/** Two writers, A and B, each read the counter, then each write `read + 1`: the classic lost update. */
async function lostUpdate(store: StateStore, increments: number, out: Out) {
  const expected = 2 * increments;
  out();
  out(`1. Lost update: writers A and B each add 1 to a counter ${increments} times; both read before either writes.`);

  const naive = "demo/counter-unfenced";
  for (let i = 0; i < increments; i++) {
    const a = await store.read(naive);
    const b = await store.read(naive);
    // A blind write: no expectVersion, which is what a plain key-value store (or INSERT OR REPLACE) does.
    await store.commit({ key: naive, op: op.set(count(a.value) + 1) });
    await store.commit({ key: naive, op: op.set(count(b.value) + 1) });
  }
  const naiveTotal = count((await store.read(naive)).value);
  out(
    `   without fencing: expected ${expected}, got ${naiveTotal} — ${expected - naiveTotal} updates lost, no error raised.`,
  );

  const key = "demo/counter";
  let conflicts = 0;
  for (let i = 0; i < increments; i++) {
    const a = await store.read(key);
    const b = await store.read(key);
    await store.commit({ key, op: op.set(count(a.value) + 1), expectVersion: a.version, owner: "A" });
    try {
      await store.commit({ key, op: op.set(count(b.value) + 1), expectVersion: b.version, owner: "B" });
    } catch (err) {
      if (!(err instanceof FencedStateError) || err.code !== "VERSION_CONFLICT") throw err;
      conflicts++;
      if (conflicts === 1) {
        out(
          "   with fenced-state: each commit names the version its writer read (expectVersion); A's commit moved it,",
        );
        out(`   so B gets ${describe(err)}`);
      }
      // What `store.update()` does for you: re-read, re-apply, commit against the new version.
      const again = await store.read(key);
      await store.commit({ key, op: op.set(count(again.value) + 1), expectVersion: again.version, owner: "B" });
    }
  }
  const fencedTotal = count((await store.read(key)).value);
  out(`   B re-read and retried after each of its ${conflicts} conflicts: expected ${expected}, got ${fencedTotal}.`);
  return { unfencedLost: expected - naiveTotal, fencedTotal, conflicts };
}

/** A claim holder stalls, is reclaimed, wakes up and writes what it computed before the stall. */
async function zombieWrite(store: StateStore, out: Out) {
  out();
  out("2. Zombie writer: worker A claims a report, reads it, stalls (GC pause, slow tool call); B reclaims it.");

  const naive = "demo/report-unfenced";
  await store.commit({ key: naive, op: op.set("draft") });
  const seen = await store.read(naive);
  await store.commit({ key: naive, op: op.set("B's final report") });
  await store.commit({ key: naive, op: op.set(`${String(seen.value)} + A's stale edit`) });
  out(
    `   without fencing: A wakes and writes; the report is now "${String((await store.read(naive)).value)}" — B's work is gone.`,
  );

  const key = "demo/report";
  out("   with fenced-state:");
  out("   - a claim is a lease on a key: one owner at a time, until it expires, is released or is taken over;");
  out(
    "   - every claim and takeover bumps the key's epoch, a number that only grows; a commit names the epoch it holds;",
  );
  out("   - FENCED: the commit's epoch is older than the key's, so its writer lost the key (not retryable).");
  await store.commit({ key, op: op.set("draft") });
  const a = await store.claim({ key, owner: "A", ttlMs: 60_000 });
  const aRead = await store.read(key);
  out(`   A claims the key (epoch ${a.epoch}) and reads version ${aRead.version}; A stalls.`);
  const b = await store.claim({ key, owner: "B", ttlMs: 60_000, steal: true });
  out(
    `   B reclaims the key: epoch ${b.epoch}. B has not written yet, so the version is still ${(await store.read(key)).version}.`,
  );
  try {
    await store.commit({ key, op: op.set("A's stale edit"), expectVersion: aRead.version, epoch: a.epoch, owner: "A" });
    out("   A's write landed — this must not happen.");
    return { code: "COMMITTED" };
  } catch (err) {
    if (!(err instanceof FencedStateError)) throw err;
    out(`   A wakes and writes with its old epoch: ${describe(err)}`);
    await store.commit({
      key,
      op: op.set("B's final report"),
      expectVersion: aRead.version,
      epoch: b.epoch,
      owner: "B",
    });
    out(`   B commits under epoch ${b.epoch}: the report is "${String((await store.read(key)).value)}".`);
    return { code: err.code };
  }
}

function count(value: Json | undefined): number {
  return typeof value === "number" ? value : 0;
}

function describe(err: FencedStateError): string {
  return `${err.code} (retryable: ${err.retryable}) ${JSON.stringify(err.details)}`;
}
