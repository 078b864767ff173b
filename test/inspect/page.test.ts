/**
 * `fenced inspect` in a real browser (Debian's chromium through playwright-core): outcomes made through the API show
 * up in the live stream, filters narrow the list, a forked LangGraph thread shows both branches and its head, the
 * lineage loads page by page, and the token prompt guards the API.
 */
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { FencedError, op, openStore, VersionConflictError, type StateStore } from "../../src/index.js";
import { FencedCheckpointSaver } from "../../src/langgraph/index.js";
import { createInspector, type Inspector } from "../../src/inspect/server.js";
import { meta } from "../langgraph/fixtures/checkpoints.js";
import { tempDir } from "../support/backends.js";
import { launchChromium } from "./browser.js";
import { forkedThread, numberedCheckpoint } from "./support.js";

/** Generous: the machine is shared; the figure that matters is measured and printed, not asserted. */
const WAIT = { timeout: 20_000 };

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

interface Harness {
  path: string;
  store: StateStore;
  inspector: Inspector;
  url: string;
  page: Page;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function open(options: { token?: string; seed?: (store: StateStore) => Promise<void> } = {}): Promise<Harness> {
  const tmp = tempDir();
  cleanups.push(() => tmp.remove());
  const path = join(tmp.dir, "state.db");
  const store = await openStore({ path });
  cleanups.push(() => store.close());
  await options.seed?.(store);
  const inspector = createInspector(store, { port: 0, ...(options.token && { token: options.token }) });
  const url = await inspector.listen();
  cleanups.push(() => inspector.close());
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  cleanups.push(() => page.close());
  return { path, store, inspector, url, page };
}

async function rows(page: Page, selector = "#events-list tr"): Promise<{ outcome: string; key: string }[]> {
  return page.$$eval(selector, (trs) =>
    trs.map((tr) => ({ outcome: tr.getAttribute("data-outcome")!, key: tr.getAttribute("data-key")! })),
  );
}

describe("fenced inspect page", () => {
  it("a commit, a conflict and a fenced write made through the API appear in the live stream (latency measured)", async () => {
    const { path, url, page } = await open();
    await page.goto(`${url}/#/events`);
    await page.waitForSelector("#view-events[data-ready]", WAIT);
    await page.waitForSelector('#live[data-state="live"]', WAIT);

    // Another writer on the same file, as an agent in another process would be.
    const writer = await openStore({ path });
    cleanups.push(() => writer.close());
    const latencies: Record<string, number> = {};
    const seen = async (label: string, selector: string, done: number) => {
      const row = await page.waitForSelector(selector, WAIT);
      latencies[label] = Number(await row.getAttribute("data-shown-at")) - done;
    };

    const committed = await writer.commit({ key: "team/notes", op: op.set(["draft"]), owner: "alice" });
    await seen("committed", `#events-list tr[data-seq="${committed.seq}"][data-outcome="committed"]`, Date.now());

    await expect(
      writer.commit({ key: "team/notes", op: op.set(["lost"]), expectVersion: 0, owner: "bob" }),
    ).rejects.toBeInstanceOf(VersionConflictError);
    await seen("conflict", '#events-list tr[data-outcome="conflict"][data-key="team/notes"]', Date.now());

    const zombie = await writer.claim({ key: "team/plan", owner: "worker-1", ttlMs: 60_000 });
    await writer.claim({ key: "team/plan", owner: "worker-2", ttlMs: 60_000, steal: true });
    await expect(
      writer.commit({ key: "team/plan", op: op.set("late"), epoch: zombie.epoch, owner: "worker-1" }),
    ).rejects.toBeInstanceOf(FencedError);
    await seen("fenced", '#events-list tr[data-outcome="fenced"][data-key="team/plan"]', Date.now());

    // Told apart at a glance: each outcome has its own badge (glyph and label), not only a colour.
    const badges = await page.$$eval("#events-list tr .badge", (els) => els.map((e) => e.textContent));
    expect(badges).toEqual(expect.arrayContaining(["✓ committed", "≠ conflict", "⊘ fenced"]));
    const seqs = await page.$$eval("#events-list tr", (trs) => trs.map((tr) => tr.getAttribute("data-seq")));
    expect(new Set(seqs).size).toBe(seqs.length); // each event once: the first page and the stream do not overlap
    console.log(`inspect stream latency (commit returned → row shown), ms: ${JSON.stringify(latencies)}`);
    for (const ms of Object.values(latencies)) expect(ms).toBeGreaterThanOrEqual(-50); // shown after it happened (clock sanity)
  });

  it("filters narrow the list: by outcome, by key prefix, and for events that arrive afterwards", async () => {
    const { store, url, page } = await open({
      seed: async (s) => {
        await s.commit({ key: "a/1", op: op.set(1) });
        await s.commit({ key: "b/1", op: op.set(1) });
        await s.commit({ key: "a/1", op: op.set(2), expectVersion: 0 }).catch(() => undefined);
        const held = await s.claim({ key: "a/2", owner: "w1", ttlMs: 60_000 });
        await s.claim({ key: "a/2", owner: "w2", ttlMs: 60_000, steal: true });
        await s.commit({ key: "a/2", op: op.set(1), epoch: held.epoch }).catch(() => undefined);
      },
    });
    await page.goto(`${url}/#/events`);
    await page.waitForSelector("#view-events[data-ready]", WAIT);
    expect((await rows(page)).length).toBe(6);

    await page.click('button.chip[data-outcome="fenced"]');
    await expect.poll(() => page.url(), WAIT).toContain("outcome=fenced");
    await page.waitForSelector("#view-events[data-ready]", WAIT);
    expect(await rows(page)).toEqual([{ outcome: "fenced", key: "a/2" }]);

    // Live events obey the filter too.
    await page.waitForSelector('#live[data-state="live"]', WAIT);
    await store.commit({ key: "a/3", op: op.set(1) });
    const again = await store.claim({ key: "a/3", owner: "w3", ttlMs: 60_000 });
    await store.claim({ key: "a/3", owner: "w4", ttlMs: 60_000, steal: true });
    await store.commit({ key: "a/3", op: op.set(2), epoch: again.epoch }).catch(() => undefined);
    await page.waitForSelector('#events-list tr[data-key="a/3"]', WAIT);
    expect(await rows(page)).toEqual([
      { outcome: "fenced", key: "a/3" },
      { outcome: "fenced", key: "a/2" },
    ]);

    await page.goto(`${url}/#/events`);
    await page.waitForSelector("#view-events[data-ready]", WAIT);
    await page.fill("#event-prefix", "b/");
    await page.press("#event-prefix", "Enter");
    await expect.poll(() => page.url(), WAIT).toContain("prefix=b");
    await page.waitForSelector("#view-events[data-ready]", WAIT);
    expect(await rows(page)).toEqual([{ outcome: "committed", key: "b/1" }]);
  });

  it("a forked thread shows two branches from the fork point, and the head", async () => {
    let fork = { forkPointId: "", headId: "" };
    const { url, page } = await open({
      seed: async (s) => {
        fork = await forkedThread(new FencedCheckpointSaver(s), "support-chat");
      },
    });
    await page.goto(`${url}/#/events`);
    await page.waitForSelector('nav a[data-view="threads"]:not([hidden])', WAIT); // the section appears: threads exist
    await page.click('nav a[data-view="threads"]');
    await page.click('#threads-list a:text("support-chat")');
    await page.waitForSelector("#view-threads[data-ready] #lineage .node", WAIT);

    expect(await page.$$eval("#lineage .node.tip", (n) => n.length)).toBe(2);
    expect(await page.$$eval("#lineage .node.fork", (n) => n.map((e) => e.getAttribute("data-id")))).toEqual([
      fork.forkPointId,
    ]);
    expect(await page.$$eval("#lineage .node.head", (n) => n.map((e) => e.getAttribute("data-id")))).toEqual([
      fork.headId,
    ]);
    expect(await page.textContent("#lineage-stats")).toContain("2 branches");
    // The two branches run in different lanes and meet at the fork point.
    const lanes = await page.$$eval("#lineage .node.tip", (n) => n.map((e) => e.getAttribute("data-lane")));
    expect(new Set(lanes).size).toBe(2);

    await page.click("#lineage .node.head");
    await page.waitForSelector("#checkpoint-state pre.json", WAIT);
    const state = await page.textContent("#checkpoint-state");
    expect(state).toContain('"replay"');
    expect(state).toContain("HEAD");
  });

  it("a long lineage loads page by page as it scrolls", async () => {
    const { url, page } = await open({
      seed: async (s) => {
        const saver = new FencedCheckpointSaver(s);
        let parent: string | undefined;
        for (let i = 0; i < 450; i++) {
          const c = numberedCheckpoint(i, { n: i });
          await saver.put(
            { configurable: { thread_id: "long", checkpoint_ns: "", ...(parent && { checkpoint_id: parent }) } },
            c,
            meta(i),
            { n: i + 1 },
          );
          parent = c.id;
        }
      },
    });
    await page.goto(`${url}/#/threads?thread=long`);
    await page.waitForSelector("#view-threads[data-ready] #lineage .node", WAIT);
    expect(await page.$$eval("#lineage .node", (n) => n.length)).toBe(200);
    for (let i = 0; i < 60 && (await page.$$eval("#lineage .node", (n) => n.length)) < 450; i++) {
      await page.$eval("#view-threads .sentinel", (el) => el.scrollIntoView());
      await page.waitForTimeout(300);
    }
    expect(await page.$$eval("#lineage .node", (n) => n.length)).toBe(450);
    expect(await page.$$eval("#lineage .node.tip", (n) => n.length)).toBe(1);
    expect(await page.textContent("#lineage-stats")).toMatch(/^450 checkpoints · 1 branch · 0 forks/);
  });

  it("keys show their claim holder, epoch and expiry; a key's history tells who won, who lost and who was fenced", async () => {
    const { url, page } = await open({
      seed: async (s) => {
        await s.commit({ key: "team/plan", op: op.set({ steps: ["a"] }), owner: "alice" });
        await s
          .commit({ key: "team/plan", op: op.set({ steps: ["b"] }), expectVersion: 0, owner: "bob" })
          .catch(() => undefined);
        const held = await s.claim({ key: "team/plan", owner: "worker-1", ttlMs: 60_000 });
        await s.claim({ key: "team/plan", owner: "worker-2", ttlMs: 600_000, steal: true });
        await s
          .commit({ key: "team/plan", op: op.set({}), epoch: held.epoch, owner: "worker-1" })
          .catch(() => undefined);
      },
    });
    await page.goto(`${url}/#/keys?prefix=team%2F`);
    await page.waitForSelector("#view-keys[data-ready]", WAIT);
    const row = await page.textContent('#keys-list tr[data-key="team/plan"]');
    expect(row).toContain("worker-2");
    expect(row).toContain("epoch 2");
    expect(row).toMatch(/expires in \d+(\.\d)? (s|min)/);
    await page.click('#keys-list a:text("team/plan")');
    await page.waitForSelector("#key-history tr", WAIT);
    const history = await page.$$eval("#key-history tr", (trs) =>
      trs.map((tr) => [tr.getAttribute("data-outcome"), tr.children[5]!.textContent]),
    );
    expect(history).toEqual([
      ["fenced", "worker-1"],
      ["claimed", "worker-2"],
      ["claimed", "worker-1"],
      ["conflict", "bob"],
      ["committed", "alice"],
    ]);
  });

  it("with a token, the page asks for it before showing any data, and takes it from #token=", async () => {
    const { url, page } = await open({
      token: "s3cret-token",
      seed: async (s) => void (await s.commit({ key: "k/1", op: op.set(1) })),
    });
    await page.goto(`${url}/#/events`);
    await page.waitForSelector("form.token", WAIT);
    expect(await page.$$eval("#events-list tr", (n) => n.length)).toBe(0);
    await page.fill("#token", "s3cret-token");
    await page.click("form.token button");
    await page.waitForSelector('#events-list tr[data-key="k/1"]', WAIT);

    const fresh = await browser.newPage();
    cleanups.push(() => fresh.close());
    await fresh.goto(`${url}/#token=s3cret-token`);
    await fresh.waitForSelector('#events-list tr[data-key="k/1"]', WAIT);
    expect(fresh.url()).not.toContain("s3cret-token"); // the token leaves the address bar at once
  });
});
