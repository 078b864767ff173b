/**
 * Takes the screenshots in docs/ (inspect.png, inspect-keys.png, inspect-thread.png): seeds a store with a few agents'
 * worth of history — wins, lost updates, a fenced zombie, a replayed retry, claims, LangGraph threads with a fork and
 * a pending interrupt — serves it with `createInspector` and photographs the page in chromium.
 *
 *   npx tsx test/inspect/screenshots.ts [outDir=docs]
 */
import { join } from "node:path";
import { op, openStore, type StateStore } from "../../src/index.js";
import { FencedCheckpointSaver, forkConfig } from "../../src/langgraph/index.js";
import { createInspector } from "../../src/inspect/server.js";
import { counterGraph } from "../langgraph/fixtures/counter.js";
import { tempDir } from "../support/backends.js";
import { launchChromium } from "./browser.js";
import { interruptedThread } from "./support.js";

const outDir = process.argv[2] ?? "docs";

/** Agents at work over the last nine minutes (the store's clock is moved along so the chart has a shape). */
async function seed(path: string): Promise<void> {
  const start = Date.now() - 9 * 60_000;
  let now = start;
  const store = await openStore({ path, clock: () => now });
  const tick = (ms: number) => (now = Math.min(Date.now(), now + ms));
  await seedThreads(store);
  const agents = ["researcher", "writer", "critic"];
  for (let i = 0; i < 60; i++) {
    tick(6_000 + (i % 7) * 700);
    const agent = agents[i % 3]!;
    const notes = await store.read("team/research/notes");
    await store.commit({
      key: "team/research/notes",
      op: op.set({ lines: i + 1, last: agent }),
      expectVersion: notes.version,
      owner: agent,
    });
    if (i % 4 === 1) {
      // A second agent read the same version: its write loses, typed, and it retries.
      await store
        .commit({
          key: "team/research/notes",
          op: op.set({ lost: true }),
          expectVersion: notes.version,
          owner: agents[(i + 1) % 3]!,
        })
        .catch(() => undefined);
    }
    if (i % 3 === 0)
      await store.commit({
        key: `team/tasks/${i / 3}`,
        op: op.set({ title: `task ${i / 3}`, done: i % 2 === 0 }),
        owner: agent,
      });
    if (i % 9 === 4) {
      // A worker stalls, its claim is taken over, it wakes and writes: fenced.
      const zombie = await store.claim({ key: "team/plan", owner: "worker-1", ttlMs: 30_000 });
      tick(500);
      await store.claim({ key: "team/plan", owner: "worker-2", ttlMs: 30_000, steal: true });
      await store
        .commit({ key: "team/plan", op: op.set({ step: i, by: "worker-1" }), epoch: zombie.epoch, owner: "worker-1" })
        .catch(() => undefined);
    }
    if (i % 10 === 6) {
      // A retry after a timeout carries the same opId: the first result comes back, nothing applies twice.
      const request = { key: "team/budget", op: op.increment(5), opId: `charge-${i}`, owner: "billing" };
      await store.commit(request);
      await store.commit(request);
    }
  }
  now = Date.now();
  const plan = await store.claim({ key: "team/plan", owner: "worker-2", ttlMs: 600_000, steal: true });
  await store.commit({
    key: "team/plan",
    op: op.set({ steps: ["collect sources", "draft", "review"], owner: "worker-2" }),
    epoch: plan.epoch,
    owner: "worker-2",
  });
  await store.close();
}

async function seedThreads(store: StateStore): Promise<void> {
  const saver = new FencedCheckpointSaver(store);
  const graph = counterGraph(saver);
  const config = { configurable: { thread_id: "support-chat" } };
  for (const label of ["hello", "question", "follow-up"]) await graph.invoke({ log: [label] }, config);
  const history = [];
  for await (const s of graph.getStateHistory(config)) history.push(s);
  const forkPoint = history.find((s) => s.values.count === 1 && s.next.length === 0)!;
  await graph.invoke({ log: ["edited question"] }, forkConfig(forkPoint.config));
  await graph.invoke({ log: ["thanks"] }, config);
  await store.claim({ key: "langgraph/support-chat/head/~", owner: "run-7f3a", ttlMs: 600_000 });

  await interruptedThread(saver, "refund-approval");
}

const tmp = tempDir();
try {
  const path = join(tmp.dir, "state.db");
  await seed(path);
  const store = await openStore({ path });
  const inspector = createInspector(store, { port: 0 });
  const url = await inspector.listen();
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1360, height: 860 }, deviceScaleFactor: 1 });
    await page.goto(`${url}/#/events`);
    await page.waitForSelector("#view-events[data-ready] #chart svg", { timeout: 30_000 });
    await page.waitForTimeout(500);
    await page.screenshot({ path: join(outDir, "inspect.png") });

    await page.goto(`${url}/#/keys?prefix=team%2F&key=team%2Fplan`);
    await page.waitForSelector("#view-keys[data-ready] #key-history tr", { timeout: 30_000 });
    await page.screenshot({ path: join(outDir, "inspect-keys.png") });

    await page.goto(`${url}/#/threads?thread=support-chat`);
    await page.waitForSelector("#view-threads[data-ready] #lineage .node.fork", { timeout: 30_000 });
    await page.click("#lineage .node.fork");
    await page.waitForSelector("#checkpoint-state pre.json", { timeout: 30_000 });
    await page.screenshot({ path: join(outDir, "inspect-thread.png") });
    console.log(`screenshots written to ${outDir}/inspect.png, inspect-keys.png, inspect-thread.png`);
  } finally {
    await browser.close();
    await inspector.close();
    await store.close();
  }
} finally {
  tmp.remove();
}
