/** A backend whose chosen calls start only when a fast-check scheduler (`fc.scheduler`) releases them. */
import type fc from "fast-check";
import type { Backend } from "../../src/backend.js";

type Scheduled = "transact" | "getRecord" | "getClaim" | "listRecords" | "readEvents" | "lastSeq" | "snapshot";

/**
 * The same backend, with the start of each call in `which` released by the scheduler: the order in which those calls
 * run (not only the order their results arrive) is fast-check's choice. `close` is a no-op: the fixture closes the
 * backend underneath.
 */
export function scheduled(backend: Backend, s: fc.Scheduler, which: readonly Scheduled[]): Backend {
  const later =
    <A extends unknown[], R>(label: string, call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      await s.schedule(Promise.resolve(), label);
      return call(...args);
    };
  const maybe = <A extends unknown[], R>(name: Scheduled, call: (...args: A) => Promise<R>) =>
    which.includes(name) ? later(name, call) : call;
  return {
    kind: backend.kind,
    transact: maybe("transact", backend.transact.bind(backend)),
    getRecord: maybe("getRecord", backend.getRecord.bind(backend)),
    getClaim: maybe("getClaim", backend.getClaim.bind(backend)),
    listRecords: maybe("listRecords", backend.listRecords.bind(backend)),
    readEvents: maybe("readEvents", backend.readEvents.bind(backend)),
    snapshot: maybe("snapshot", backend.snapshot.bind(backend)),
    lastSeq: maybe("lastSeq", backend.lastSeq.bind(backend)),
    subscribe: backend.subscribe.bind(backend),
    purge: backend.purge.bind(backend),
    close: async () => {},
  };
}
