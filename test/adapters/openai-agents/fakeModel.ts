/**
 * A fake `Model` for the real `@openai/agents` runner: no keys, no network. Each call asks a policy what the model
 * "says" next, given the request (so a policy can react to the last tool result, exactly like a model would).
 */
import { Usage, type AgentOutputItem, type Model, type ModelRequest, type ModelResponse } from "@openai/agents";
import { assistantMessage, functionCall } from "@openai/agents/testing";

export interface Turn {
  request: ModelRequest;
  /** 0 for this model's first call. */
  call: number;
  /** The parsed JSON output of the most recent tool call in the input, if any. */
  lastResult: unknown;
}

export type Policy = (turn: Turn) => AgentOutputItem[] | Promise<AgentOutputItem[]>;

export class PolicyModel implements Model {
  calls = 0;
  constructor(private readonly policy: Policy) {}

  async getResponse(request: ModelRequest): Promise<ModelResponse> {
    const call = this.calls++;
    const output = await this.policy({ request, call, lastResult: lastToolResult(request) });
    return { usage: new Usage(), output, responseId: `resp_${call}` };
  }

  // The tests never stream; a streamed call would be a test bug, so it fails loudly.
  // biome-ignore lint/correctness/useYield: a generator that only throws: streaming is not part of these tests.
  async *getStreamedResponse(): AsyncIterable<never> {
    throw new Error("PolicyModel does not stream");
  }
}

let callSeq = 0;
/** The model calls a tool. */
export function callTool(name: string, args: Record<string, unknown>): AgentOutputItem[] {
  return [functionCall(name, args, { callId: `call_${++callSeq}` })];
}

/** The model answers and the run ends. */
export function say(text: string): AgentOutputItem[] {
  return [assistantMessage(text)];
}

/** What a tool returned most recently in this request's input: parsed when it is JSON, else the text. */
export function lastToolResult(request: ModelRequest): unknown {
  if (typeof request.input === "string") return undefined;
  for (let i = request.input.length - 1; i >= 0; i--) {
    const item = request.input[i]!;
    if (item.type !== "function_call_result") continue;
    const out = item.output;
    const text = typeof out === "string" ? out : "text" in out && typeof out.text === "string" ? out.text : undefined;
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return undefined;
}

/** Resolves every waiter once `parties` have arrived: lines agents up so their reads all happen before any write. */
export function barrier(parties: number): () => Promise<void> {
  let arrived = 0;
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return () => {
    if (++arrived === parties) open();
    return opened;
  };
}

/** A promise plus the function that resolves it: holds a model call (a stalled run) until the test lets it go. */
export function gate(): { wait: Promise<void>; open(): void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}
