/**
 * The names a TypeScript block in the documentation may use without defining them, because the page has introduced
 * them in prose ("your graph", "the session"). test/docs/snippets.test.ts compiles every block with this file; it is
 * kept out of tsconfig.json so that nothing else in the repository can lean on these globals. A block that defines
 * one of these names itself shadows it. Anything else a block needs, it imports or defines, or it is a ```ts fragment.
 */
import { Annotation, StateGraph, START, type StateSnapshot } from "@langchain/langgraph";
import type { RunnableConfig } from "@langchain/core/runnables";
import type { Agent } from "@openai/agents";
import type { StateStore } from "../../../src/index.js";
import type { FencedCheckpointSaver } from "../../../src/langgraph/index.js";
import type { FencedContext, FencedSession } from "../../../adapters/openai-agents/index.js";

const DocState = Annotation.Root({
  count: Annotation<number>(),
  messages: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
});
const docBuilder = () =>
  new StateGraph(DocState).addNode("step", (s) => ({ count: (s.count ?? 0) + 1 })).addEdge(START, "step");
type Builder = ReturnType<typeof docBuilder>;

declare global {
  /** A LangGraph `StateGraph` of `{ count: number; messages: string[] }`, not yet compiled. */
  const builder: Builder;
  /** `builder`, compiled with a checkpointer. */
  const graph: ReturnType<Builder["compile"]>;
  const checkpointer: FencedCheckpointSaver;
  /** A run config naming a thread. */
  const config: RunnableConfig;
  /** An input for `graph`. */
  const input: { messages: string[] };
  /** An earlier checkpoint of a thread, from `graph.getStateHistory(config)`. */
  const old: StateSnapshot;
  /** An OpenAI Agents SDK agent. */
  const agent: Agent<FencedContext>;
  const session: FencedSession;
  const store: StateStore;
  /** A user message and its id. */
  const message: string;
  const messageId: string;
}
