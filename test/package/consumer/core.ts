// A consumer of the core and the server entry, with only `npm install fenced-state` done: it must type-check under
// strict NodeNext with skipLibCheck off, so the published types may name nothing the install did not bring.
import { openStore, op, VersionConflictError, type StateStore } from "fenced-state";
import { createServer } from "fenced-state/server";

const store: StateStore = await openStore({ path: "core/state.db" });
const first = await store.commit({ key: "team/count", op: op.increment(1) });
try {
  await store.commit({ key: "team/count", op: op.set(0), expectVersion: first.version - 1 });
  throw new Error("a stale commit landed");
} catch (err) {
  if (!(err instanceof VersionConflictError)) throw err;
}
const server = createServer(store, { port: 0 });
const url = await server.listen();
const health = await fetch(`${url}/healthz`);
await server.close();
await store.close();
console.log(`core ok: version ${first.version}, healthz ${health.status}`);
