/**
 * fenced-state for the OpenAI Agents SDK (`@openai/agents`): a `Session` whose concurrent runs never lose items,
 * run fences that travel with the run context, and function tools for shared, versioned state.
 *
 * @example
 * ```ts
 * import { openStore } from "fenced-state";
 * import { FencedSession, stateTools } from "fenced-state/openai-agents";
 * const store = await openStore();
 * const session = new FencedSession({ store, sessionId: "support-42" });
 * const agent = new Agent({ name: "planner", instructions: "…", tools: stateTools(store, { prefix: "team/" }) });
 * await run(agent, "add a step to the plan", { session });
 * ```
 */
export { FencedSession, DEFAULT_SESSION_PREFIX, type FencedSessionOptions } from "./session.js";
export {
  withFencedRun,
  fenceOf,
  epochFor,
  type RunFence,
  type FencedContext,
  type FencedRun,
  type FencedRunOptions,
  type BusyPolicy,
} from "./fence.js";
export {
  stateTools,
  readStateTool,
  commitStateTool,
  updateStateTool,
  type StateToolsOptions,
  type StateToolResult,
  type StateToolSuccess,
  type StateToolFailure,
} from "./tools.js";
