/**
 * `fenced inspect` on a large store: time to first render of the page in chromium, and of a long thread's lineage.
 * Builds a SQLite store with 10^5 events (and a LangGraph thread of 10^4 checkpoints), starts the inspector, opens
 * the page cold in a fresh browser context several times and prints the times. A figure, not a test assertion.
 *
 *   npx tsx bench/inspect.ts [--events 100000] [--checkpoints 10000] [--runs 5]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { op, openStore } from "../src/index.js";
import { createInspector } from "../src/inspect/server.js";
import { FencedCheckpointSaver } from "../src/langgraph/index.js";
import { numberedCheckpoint } from "../test/inspect/support.js";
import { launchChromium } from "../test/inspect/browser.js";
import { machineInfo } from "./machine.js";

const { values } = parseArgs({
  options: {
    events: { type: "string", default: "100000" },
    checkpoints: { type: "string", default: "10000" },
    runs: { type: "string", default: "5" },
  },
});
const EVENTS = Number(values.events);
const CHECKPOINTS = Number(values.checkpoints);
const RUNS = Number(values.runs);

/** What the polled function reads in the page (the bench has no DOM types). */
interface PageGlobals {
  document: { querySelector(selector: string): unknown };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (xs: number[]) => `median ${median(xs).toFixed(0)} ms (runs: ${xs.map((x) => x.toFixed(0)).join(", ")})`;

const dir = mkdtempSync(join(tmpdir(), "fenced-inspect-bench-"));
try {
  const path = join(dir, "state.db");
  const store = await openStore({ path, retention: { maxEvents: Math.max(EVENTS, 100_000) } });
  let t = performance.now();
  // The events: txns of 1,000 keys, with a conflict and a fenced write every 5,000 so filters have something to find.
  const zombie = await store.claim({ key: "bench/claimed", owner: "zombie", ttlMs: 3_600_000 });
  await store.claim({ key: "bench/claimed", owner: "current", ttlMs: 3_600_000, steal: true });
  let written = await store.backend.lastSeq();
  for (let batch = 0; written < EVENTS - CHECKPOINTS * 2; batch++) {
    const n = Math.min(1000, EVENTS - CHECKPOINTS * 2 - written);
    await store.txn(
      Array.from({ length: n }, (_, i) => ({
        key: `bench/k${(batch * 1000 + i) % 20_000}`,
        op: op.set(batch),
        owner: `agent-${i % 8}`,
      })),
    );
    if (batch % 5 === 0) {
      await store.commit({ key: "bench/k0", op: op.set(-1), expectVersion: 0 }).catch(() => undefined);
      await store.commit({ key: "bench/claimed", op: op.set(-1), epoch: zombie.epoch }).catch(() => undefined);
    }
    written = await store.backend.lastSeq();
  }
  // The thread: a straight lineage of CHECKPOINTS puts (each put and its writes counter are events too).
  const saver = new FencedCheckpointSaver(store);
  let parent: string | undefined;
  for (let i = 0; i < CHECKPOINTS; i++) {
    const c = numberedCheckpoint(i, { n: i, note: `step ${i}` });
    await saver.put(
      { configurable: { thread_id: "long", checkpoint_ns: "", ...(parent && { checkpoint_id: parent }) } },
      c,
      { source: "loop", step: i, parents: {} },
      { n: i + 1, note: i + 1 },
    );
    parent = c.id;
  }
  while ((await store.backend.lastSeq()) < EVENTS) await store.commit({ key: "bench/tail", op: op.increment(1) });
  const lastSeq = await store.backend.lastSeq();
  console.log(
    `built: ${lastSeq.toLocaleString()} events, a thread of ${CHECKPOINTS.toLocaleString()} checkpoints, in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );

  const inspector = createInspector(store, { port: 0 });
  const url = await inspector.listen();
  const browser = await launchChromium();
  const m = machineInfo();
  console.log(
    `machine: ${m.cpuModel}, ${m.cores} cores, load ${m.loadAvgStart.map((l) => l.toFixed(2)).join(" ")}; node ${m.node}; chromium via playwright-core`,
  );
  try {
    const measure = async (hash: string, ready: string) => {
      const harness: number[] = [];
      const inPage: number[] = [];
      for (let run = 0; run < RUNS; run++) {
        const context = await browser.newContext({ viewport: { width: 1280, height: 900 } }); // cold: no cache
        const page = await context.newPage();
        t = performance.now();
        await page.goto(`${url}/${hash}`, { waitUntil: "commit" });
        // Polled every animation frame: the page's own clock (from navigation start) when the content is there.
        const shown = await page.waitForFunction(
          (selector) =>
            (globalThis as unknown as PageGlobals).document.querySelector(selector) !== null && performance.now(),
          ready,
          { timeout: 60_000, polling: "raf" },
        );
        harness.push(performance.now() - t);
        inPage.push((await shown.jsonValue()) as number);
        await context.close();
      }
      return { harness, inPage };
    };
    const events = await measure("#/events", "#view-events[data-ready] #events-list tr");
    console.log(`events page, first render (navigation → first 100 rows shown), in page: ${fmt(events.inPage)}`);
    console.log(`  the same from the harness (includes playwright round trips): ${fmt(events.harness)}`);
    const filtered = await measure("#/events?outcome=fenced", "#view-events[data-ready] #events-list tr");
    console.log(`events page filtered to fenced (sparse: 1 in ~5,000), first render in page: ${fmt(filtered.inPage)}`);
    const tree = await measure("#/threads?thread=long", "#view-threads[data-ready] #lineage .node");
    console.log(
      `lineage of ${CHECKPOINTS.toLocaleString()} checkpoints, first render (first 200 nodes), in page: ${fmt(tree.inPage)}`,
    );
    for (const [name, route] of [
      ["/api/events?limit=100", "/api/events?limit=100"],
      ["/api/events/counts (10 min)", "/api/events/counts"],
      ["/api/thread/lineage?limit=200", "/api/thread/lineage?thread=long&limit=200"],
    ] as const) {
      const times: number[] = [];
      for (let run = 0; run < RUNS; run++) {
        t = performance.now();
        const res = await fetch(`${url}${route}`);
        await res.arrayBuffer();
        times.push(performance.now() - t);
      }
      console.log(`${name}: ${fmt(times)}`);
    }
  } finally {
    await browser.close();
    await inspector.close();
    await store.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
