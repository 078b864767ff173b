/**
 * A writer that commits THROUGH the coordinator (`fenced serve`) and is SIGKILLed at random moments; the coordinator
 * may be SIGKILLed under it too. argv: <baseUrl> <key> <firstIndex>.
 * For i = firstIndex, firstIndex+1, …: POSTs `increment(1)` with opId `<key>#<i>` to /v1/commit, resending the very
 * same body after a connection error or 503 `UNAVAILABLE` (outcome unknown), as the Python client does; only once a
 * 200 arrives it prints `{"ack":i,"version":v,"seq":s,"replayed":bool,"resends":n}` (what the ledger records).
 * Any other answer is a bug in this test's eyes: it escapes and the process exits non-zero.
 */
// The core's error table and backoff only: a client process has no store of its own.
import { ackLine } from "./ack-line.js";
import { errorFromJSON, UnavailableError } from "../../../src/core/errors.js";
import { withBackoff } from "../../../src/core/retry.js";

const [baseUrl, key, first] = process.argv.slice(2) as [string, string, string];

async function post(body: string): Promise<Record<string, unknown>> {
  let res: Response;
  let text: string;
  try {
    res = await fetch(`${baseUrl}/v1/commit`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
      signal: AbortSignal.timeout(10_000),
    });
    // Reading the body is part of the exchange: a coordinator killed mid-answer leaves the outcome unknown too.
    text = await res.text();
  } catch (err) {
    throw new UnavailableError({ cause: `connection: ${String(err)}` }); // refused, reset, or timed out: outcome unknown
  }
  const answer = ((): Record<string, unknown> | null => {
    try {
      return JSON.parse(text) as Record<string, unknown>;
    } catch {
      return null;
    }
  })();
  if (res.status === 200 && answer) return answer;
  throw errorFromJSON(answer);
}

// AbortSignal.timeout's timer does not keep the process alive: if a killed coordinator leaves a read that never
// settles, Node would see nothing left to do and exit with code 13 (unsettled top-level await) before the timeout
// fires. This timer keeps the loop alive, so the read is aborted and resent like any lost answer.
setInterval(() => undefined, 60_000);

ackLine({ ready: true });
for (let i = Number(first); ; i++) {
  const body = JSON.stringify({ key, op: { type: "increment", by: 1 }, opId: `${key}#${i}` });
  let resends = 0;
  // Resend until answered: the coordinator may be down for a second or more while the supervisor restarts it.
  const r = await withBackoff(
    (n) => ((resends = n), post(body)),
    (err) => err instanceof UnavailableError,
    { retries: 1_000_000, baseMs: 5, maxMs: 50 },
  );
  ackLine({ ack: i, version: r.version, seq: r.seq, replayed: r.replayed, resends });
}
