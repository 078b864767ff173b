/**
 * The effect fence: send the approval email only if the approval record is still the version the agent read, and
 * only while the agent still holds the task. A zombie agent whose claim was stolen is refused (FENCED), a stale read
 * is refused (VERSION_CONFLICT), and a retry does not send twice. Runs offline on a temporary SQLite file.
 *   npx tsx examples/effect-fence/main.ts
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FencedError, VersionConflictError, op, openStore, type Claim, type Json } from "../../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "fenced-effect-"));
const store = await openStore({ path: join(dir, "state.db") });

/** The "email service": a real one would call an API; this one keeps what it sent. */
const outbox: { to: string; subject: string; sentBy: string }[] = [];
const sendApprovalEmail = (sentBy: string) => async (): Promise<Json> => {
  outbox.push({ to: "author@example.com", subject: "PR-7 approved", sentBy });
  return { messageId: `msg-${outbox.length}` };
};

const APPROVAL = "approvals/PR-7";
const TASK = "tasks/notify-PR-7";
const OP_ID = "approval-email/PR-7"; // one email per approval, whoever sends it

/** What every sender does: read the approval, and fire only if it and the task claim still hold. */
async function notify(agent: string, claim: Claim, approvalVersion: number) {
  return store.effect({
    opId: OP_ID,
    owner: agent,
    guards: [
      { key: APPROVAL, version: approvalVersion }, // the approval is still the version the agent read
      { key: TASK, epoch: claim.epoch }, // the agent still holds the task
    ],
    run: sendApprovalEmail(agent),
  });
}

await store.commit({ key: APPROVAL, op: op.set({ status: "approved", by: "lead" }), expectVersion: 0 });

// 1. agent-a takes the task and reads the approval (v1) ... then stalls (a long GC pause, a hung tool call).
const a = await store.claim({ key: TASK, owner: "agent-a", ttlMs: 30_000 });
const readByA = await store.read(APPROVAL);
console.log(`agent-a holds ${TASK} (epoch ${a.epoch}) and read ${APPROVAL} v${readByA.version}; then it stalls`);

// 2. The supervisor gives the task to agent-b, which reads the approval too.
const b = await store.claim({ key: TASK, owner: "agent-b", ttlMs: 30_000, steal: true });
const readByB = await store.read(APPROVAL);
console.log(`agent-b takes over ${TASK} (epoch ${b.epoch}) and reads ${APPROVAL} v${readByB.version}`);

// 3. agent-a wakes up, a zombie, and tries to send: refused before anything is sent.
let zombie = "";
try {
  await notify("agent-a", a, readByA.version);
} catch (err) {
  if (!(err instanceof FencedError)) throw err;
  zombie = `FENCED ${err.details.reason}`;
  console.log(
    `agent-a (zombie): ${err.code} on ${err.details.key} (${err.details.reason}: epoch ${err.details.heldEpoch} < ${err.details.currentEpoch}) — no email`,
  );
}

// 4. The lead amends the approval while agent-b works: agent-b's read is stale, so its send is refused too.
await store.commit({ key: APPROVAL, op: op.set({ status: "approved", by: "lead", note: "merge after CI" }) });
let stale = "";
try {
  await notify("agent-b", b, readByB.version);
} catch (err) {
  if (!(err instanceof VersionConflictError)) throw err;
  stale = `VERSION_CONFLICT v${err.details.expectedVersion} → v${err.details.actualVersion}`;
  console.log(
    `agent-b (stale read): ${err.code} on ${err.details.key}, v${err.details.expectedVersion} is now v${err.details.actualVersion} — no email`,
  );
}

// 5. agent-b re-reads, decides again (still approved) and sends: the one email.
const reread = await store.read(APPROVAL);
const sent = await notify("agent-b", b, reread.version);
console.log(
  `agent-b re-reads v${reread.version} (${(reread.value as { status: string }).status}) and sends: fired=${sent.fired}`,
  sent.fired ? sent.result : "",
);

// 6. A retry of the same effect (a network blip, a re-run step) finds the recorded outcome and does not send again.
const retried = await notify("agent-b", b, reread.version);
console.log(`agent-b retries ${OP_ID}: fired=${retried.fired}, status=${retried.status}`);

const record = await store.read(`effects/${OP_ID}`);
const { status, attempt, owner, result } = record.value as {
  status: string;
  attempt: number;
  owner: string;
  result: Json;
};
const log = (await store.events("effects/")).map((e) => `${e.opId} ${e.outcome}`).join(", ");
console.log(`effects/${OP_ID} v${record.version}: ${JSON.stringify({ status, attempt, owner, result })}`);
console.log(`event log for effects/: ${log}`);
console.log(
  `summary: ${outbox.length} email sent (by ${outbox.map((m) => m.sentBy).join(", ")}, approval v${reread.version}); ` +
    `zombie refused (${zombie}); stale read refused (${stale}); retry not re-sent (${retried.status})`,
);

await store.close();
rmSync(dir, { recursive: true, force: true });
