/**
 * fenced-state with the OpenAI Agents SDK, offline: the SDK's own `ScriptedModel` stands in for the LLM (no API key,
 * tracing off). Three things that go wrong silently with shared state, and what fenced-state does instead:
 *   1. two agents race to edit one key: one wins, the other gets a structured VERSION_CONFLICT and retries;
 *   2. three runs write one session at once: every item lands;
 *   3. a newer message interrupts a stalled run: the stalled run is FENCED when it wakes.
 *   npx tsx examples/openai-agents-session/main.ts
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent, run, setTracingDisabled, type AgentInputItem, type AgentOutputItem } from "@openai/agents";
import {
  assistantMessage,
  functionCall,
  modelResponder,
  ScriptedModel,
  type RecordedModelCall,
} from "@openai/agents/testing";
import { openStore } from "../../src/index.js";
import { FencedSession, stateTools, type StateToolResult } from "../../adapters/openai-agents/index.js";

setTracingDisabled(true); // the default exporter would send traces to api.openai.com

const dir = mkdtempSync(join(tmpdir(), "fenced-agents-example-"));
const store = await openStore({ path: join(dir, "state.db") }); // openStore() alone uses ./.fenced/state.db

/** A fake model whose every turn is decided by `brain` from the last tool result, like an LLM reading it. */
function offlineModel(
  brain: (lastResult: StateToolResult | undefined) => AgentOutputItem[] | Promise<AgentOutputItem[]>,
) {
  return new ScriptedModel(
    Array.from({ length: 10 }, () => modelResponder(async (call) => brain(lastToolResult(call)))),
  );
}
let callIds = 0;
const use = (name: string, args: Record<string, unknown>): AgentOutputItem[] => [
  functionCall(name, args, { callId: `call_${++callIds}` }),
];
const say = (text: string): AgentOutputItem[] => [assistantMessage(text)];
function textOf(item: AgentInputItem): string {
  if (item.type !== "message") return item.type ?? "item";
  if (typeof item.content === "string") return `${item.role}: ${item.content}`;
  return `${item.role}: ${item.content.map((c) => ("text" in c ? c.text : c.type)).join("")}`;
}
function lastToolResult(call: RecordedModelCall): StateToolResult | undefined {
  const items = typeof call.request.input === "string" ? [] : call.request.input;
  const last = items.findLast((i) => i.type === "function_call_result");
  const out = last?.type === "function_call_result" ? last.output : undefined;
  return out && typeof out === "object" && "text" in out && typeof out.text === "string"
    ? JSON.parse(out.text)
    : undefined;
}

// 1. Two agents add a step to the shared plan. Both read version 0 before either commits.
console.log("== two agents race on team/plan");
let bothRead!: () => void;
const reads = { count: 0, done: new Promise<void>((resolve) => (bothRead = resolve)) };
const tools = stateTools(store, { prefix: "team/" }); // the model names "plan"; the key is team/plan
function planner(name: string, step: string) {
  let phase: "read" | "commit" = "read";
  const brain = async (r: StateToolResult | undefined) => {
    if (r === undefined) return use("read_state", { key: "plan" });
    if (phase === "read" && r.ok) {
      if (++reads.count === 2) bothRead();
      await reads.done;
      phase = "commit";
      return use("commit_state", {
        key: "plan",
        value: JSON.stringify([...((r.value as string[]) ?? []), step]),
        expectVersion: r.version,
      });
    }
    if (r.ok) return say(`${name}: added "${step}" at version ${r.version}`);
    console.log(
      `${name}: ${r.error.code} (retryable: ${r.error.retryable}, current version ${r.current?.version}) -> re-reads and retries`,
    );
    phase = "read";
    return r.error.retryable ? use("read_state", { key: "plan" }) : say(`${name}: gave up`);
  };
  return new Agent({ name, instructions: "Add your step to the plan.", model: offlineModel(brain), tools });
}
const racers = await Promise.all([
  run(planner("researcher", "gather sources"), "go"),
  run(planner("writer", "draft outline"), "go"),
]);
for (const r of racers) console.log(r.finalOutput);
const plan = await store.read("team/plan");
console.log(`team/plan = ${JSON.stringify(plan.value)} (version ${plan.version})`);

// 2. Three runs on one session at once. A read-modify-write session would keep only some of them.
console.log("== three runs on one session at once");
const chat = new FencedSession({ store, sessionId: "support-42" });
const answerer = (n: number) =>
  new Agent({ name: `run${n}`, instructions: "", model: offlineModel(() => say(`answer ${n}`)) });
const runs = await Promise.all([1, 2, 3].map((n) => run(answerer(n), `question ${n}`, { session: chat })));
const written = runs.reduce((sum, r) => sum + 1 + r.output.length, 0); // each run's input plus its output
console.log(`session support-42 holds ${(await chat.getItems()).length} of the ${written} items the 3 runs wrote`);

// 3. A run holding the session stalls; a newer message interrupts it; the stalled run wakes and tries to write.
console.log("== a newer message interrupts a stalled run");
const session = new FencedSession({ store, sessionId: "support-43" });
let wake!: () => void;
const woken = new Promise<void>((resolve) => (wake = resolve));
let stalledStarted!: () => void;
const started = new Promise<void>((resolve) => (stalledStarted = resolve));
const slow = new Agent({
  name: "slow",
  instructions: "",
  model: offlineModel(async () => {
    stalledStarted();
    await woken; // a long tool call, a GC pause, a SIGSTOP...
    return say("stale answer");
  }),
});
const stalled = session.withRun({ owner: "run-1" }, ({ context }) => run(slow, "first message", { session, context }));
stalled.catch(() => undefined);
await started;
await session.withRun({ owner: "run-2", onBusy: "interrupt" }, ({ context }) =>
  run(new Agent({ name: "fast", instructions: "", model: offlineModel(() => say("fresh answer")) }), "second message", {
    session,
    context,
  }),
);
wake();
try {
  await stalled;
  console.log("the stalled run wrote its stale history (this should not happen)");
} catch (err) {
  const e = err as { code?: string; details?: { reason: string; heldEpoch: number; currentEpoch: number } };
  console.log(
    `stalled run: ${e.code} (${e.details?.reason}: held epoch ${e.details?.heldEpoch}, current ${e.details?.currentEpoch})`,
  );
}
console.log(`session support-43 holds: ${(await session.getItems()).map(textOf).join(" | ")}`);

await store.close();
rmSync(dir, { recursive: true, force: true });
