/**
 * A writer that is killed with SIGKILL at random moments. argv: <dbPath> <key> <firstIndex> <durability>.
 * For i = firstIndex, firstIndex+1, …: commits `increment(1)` with opId `<key>#<i>` and, only once the commit has
 * returned, prints `{"ack":i,"version":v,"replayed":bool}` (the acknowledgement the ledger records).
 */
import { ackLine } from "./ack-line.js";
import { op, openStore } from "../../../src/index.js";

const [path, key, first, durability] = process.argv.slice(2) as [string, string, string, "normal" | "full"];
const store = await openStore({ path, durability });
ackLine({ ready: true });
for (let i = Number(first); ; i++) {
  // The first request may repeat one that landed just before the previous writer was killed: same opId, so it is replayed.
  const r = await store.commit({ key, op: op.increment(1), opId: `${key}#${i}` });
  ackLine({ ack: i, version: r.version, replayed: r.replayed });
}
