/**
 * `watch` (src/core/events.ts), on every backend: a commit wakes a waiting watcher at once (the poll is only for what
 * no notification announces), an abort ends a waiting watcher at once, a backlog longer than one page is read without
 * waiting, nothing is yielded after the consumer aborts, and a watch that ends leaves no subscription behind. The
 * poll interval here is far longer than any test may take, so a watcher that waited for it would time the test out.
 */
import { afterAll, describe, expect, it, vi } from "vitest";
import type { Backend } from "../../src/core/backend.js";
import { StateStore, op } from "../../src/index.js";
import { backendFixtures } from "../support/backends.js";

const LONG_POLL = 3_600_000;

for (const fixture of backendFixtures()) {
  describe(`watch on ${fixture.name}`, () => {
    afterAll(() => fixture.cleanup());

    it("without fromSeq, yields only what lands after the watch started, woken by the commit", async () => {
      const store = await fixture.open();
      await store.commit({ key: "w/a", op: op.set("before") });
      const inner = store.backend;
      let started!: () => void;
      const reading = new Promise<void>((r) => (started = r));
      const backend: Backend = Object.assign(Object.create(inner) as Backend, {
        lastSeq: async () => {
          const seq = await inner.lastSeq();
          started();
          return seq;
        },
      });
      const watching = new StateStore(backend).watch("w/", { pollMs: LONG_POLL });
      const first = watching.next();
      await reading;
      await store.commit({ key: "w/a", op: op.set("after") });
      expect((await first).value).toMatchObject({ key: "w/a", version: 2 });
      await watching.return(undefined);
      await store.close();
    });

    it("an abort ends a waiting watcher at once", async () => {
      const store = await fixture.open();
      const stop = new AbortController();
      const seen: number[] = [];
      const done = (async () => {
        for await (const e of store.watch("w/", { fromSeq: 1, signal: stop.signal, pollMs: LONG_POLL }))
          seen.push(e.seq);
      })();
      await new Promise((r) => setTimeout(r, 20));
      stop.abort();
      await done;
      expect(seen).toEqual([]);
      await store.close();
    });

    it("yields nothing more once the consumer aborted, even from the page already read", async () => {
      const store = await fixture.open();
      for (let i = 0; i < 3; i++) await store.commit({ key: `w/${i}`, op: op.set(i) });
      const stop = new AbortController();
      const seen: string[] = [];
      for await (const e of store.watch("w/", { fromSeq: 1, signal: stop.signal, pollMs: LONG_POLL })) {
        seen.push(e.key);
        stop.abort();
      }
      expect(seen).toEqual(["w/0"]);
      await store.close();
    });

    it("reads a backlog of more than one page (500 events) without waiting between pages", async () => {
      const store = await fixture.open();
      await store.txn(
        Array.from({ length: 600 }, (_, i) => ({ key: `b/${String(i).padStart(3, "0")}`, op: op.set(i) })),
      );
      const stop = new AbortController();
      let count = 0;
      for await (const _ of store.watch("b/", { fromSeq: 1, signal: stop.signal, pollMs: LONG_POLL })) {
        if (++count === 600) stop.abort();
      }
      expect(count).toBe(600);
      await store.close();
    });

    it("a commit that lands while the watcher is reading is not left for the next poll", async () => {
      const store = await fixture.open();
      const inner = store.backend;
      let reads = 0;
      const backend: Backend = Object.assign(Object.create(inner) as Backend, {
        readEvents: async (q: Parameters<Backend["readEvents"]>[0]) => {
          const events = await inner.readEvents(q);
          // During the first read, another writer commits: its notification comes before the watcher waits.
          if (++reads === 1) await store.commit({ key: "r/late", op: op.set(1) });
          return events;
        },
      });
      const watcher = new StateStore(backend).watch("r/", { fromSeq: 1, pollMs: LONG_POLL });
      expect((await watcher.next()).value).toMatchObject({ key: "r/late" });
      await watcher.return(undefined);
      await store.close();
    });

    it("a watch that ends unsubscribes and stops listening to its signal", async () => {
      const store = await fixture.open();
      const inner = store.backend;
      let subscribed = 0;
      const backend: Backend = Object.assign(Object.create(inner) as Backend, {
        subscribe: (listener: () => void) => {
          subscribed++;
          const off = inner.subscribe(listener);
          return () => {
            subscribed--;
            off();
          };
        },
      });
      const stop = new AbortController();
      const added = vi.spyOn(stop.signal, "addEventListener");
      const removed = vi.spyOn(stop.signal, "removeEventListener");
      await store.commit({ key: "u/a", op: op.set(1) });
      for await (const _ of new StateStore(backend).watch("u/", {
        fromSeq: 1,
        signal: stop.signal,
        pollMs: LONG_POLL,
      })) {
        expect(subscribed).toBe(1);
        stop.abort();
      }
      expect(subscribed).toBe(0);
      expect(added).toHaveBeenCalledWith("abort", expect.any(Function));
      expect(removed).toHaveBeenCalledWith("abort", added.mock.calls[0]![1]);
      await store.close();
    });
  });
}

describe("watch without a signal", () => {
  it("goes on yielding from the page it read", async () => {
    const store = await backendFixtures()[0]!.open();
    await store.commit({ key: "n/a", op: op.set(1) });
    await store.commit({ key: "n/b", op: op.set(1) });
    const watcher = store.watch("n/", { fromSeq: 1, pollMs: LONG_POLL });
    expect((await watcher.next()).value).toMatchObject({ key: "n/a" });
    expect((await watcher.next()).value).toMatchObject({ key: "n/b" });
    await watcher.return(undefined);
    await store.close();
  });
});

describe("watch: an abort while the events are being read", () => {
  it("ends the watcher at once instead of sleeping a whole poll", async () => {
    const store = await backendFixtures()[0]!.open();
    const stop = new AbortController();
    const inner = store.backend;
    const backend: Backend = Object.assign(Object.create(inner) as Backend, {
      readEvents: async (q: Parameters<Backend["readEvents"]>[0]) => {
        const events = await inner.readEvents(q);
        stop.abort(); // the caller gives up while the read is in flight
        return events;
      },
    });
    const seen: number[] = [];
    for await (const e of new StateStore(backend).watch("a/", { fromSeq: 1, signal: stop.signal, pollMs: LONG_POLL })) {
      seen.push(e.seq);
    }
    expect(seen).toEqual([]);
    await store.close();
  });
});
