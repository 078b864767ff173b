/**
 * A long-lived claim holder for zombie trials. argv: <dbPath>. For each stdin line `claim <key> <ttlMs>` it claims
 * the key, reads it and prints `{"claimed":epoch,"version":v}`; for each `write` it commits under that (possibly
 * superseded) epoch and version and prints the outcome. The parent SIGSTOPs it between the two.
 */
import { createInterface } from "node:readline";
import { FencedStateError, op, openStore, type Claim } from "../../../src/index.js";

const store = await openStore({ path: process.argv[2]! });
let held: { claim: Claim; version: number } | undefined;
for await (const line of createInterface({ input: process.stdin })) {
  const [cmd, key, ttl] = line.split(" ");
  if (cmd === "claim") {
    const claim = await store.claim({ key: key!, owner: `zombie-${process.pid}`, ttlMs: Number(ttl) });
    held = { claim, version: (await store.read(key!)).version };
    process.stdout.write(`${JSON.stringify({ claimed: claim.epoch, version: held.version })}\n`);
  } else if (cmd === "write" && held) {
    const { claim, version } = held;
    const outcome = await store
      .commit({ key: claim.key, op: op.set(`zombie ${claim.epoch}`), expectVersion: version, epoch: claim.epoch })
      .then(
        (r) => ({ outcome: "committed", version: r.version }),
        (err: unknown) => {
          if (!(err instanceof FencedStateError)) throw err;
          return { outcome: err.code, details: err.details };
        },
      );
    process.stdout.write(`${JSON.stringify(outcome)}\n`);
  } else if (cmd === "exit") {
    break;
  }
}
await store.close();
process.exit(0); // stdin is still an open pipe; do not wait for the parent to close it
