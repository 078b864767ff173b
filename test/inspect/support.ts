/** Shared pieces of the inspector's tests: seeding stores, calling the API, and a thread with a fork. */
import { emptyCheckpoint, type Checkpoint } from "@langchain/langgraph-checkpoint";
import type { FastifyInstance } from "fastify";
import { op, type StateStore } from "../../src/index.js";
import { type FencedCheckpointSaver, forkConfig } from "../../src/langgraph/index.js";
import { counterGraph } from "../langgraph/fixtures/counter.js";

/** GETs an inspector route in process and returns status and parsed body. */
export async function getJson<T = Record<string, unknown>>(
  app: FastifyInstance,
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: T }> {
  const res = await app.inject({ method: "GET", url, headers });
  return { status: res.statusCode, body: res.json() as T };
}

/** Commits `n` events as txns of up to 1000 distinct keys `bulk/<i>` (set), oldest first. */
export async function commitMany(store: StateStore, n: number, prefix = "bulk"): Promise<void> {
  for (let start = 0; start < n; start += 1000) {
    const count = Math.min(1000, n - start);
    await store.txn(
      Array.from({ length: count }, (_, i) => ({ key: `${prefix}/${start + i}`, op: op.set(start + i) })),
    );
  }
}

/** A hand-built checkpoint whose id sorts by `n` (lineages list newest first by id). */
export function numberedCheckpoint(n: number, values: Record<string, unknown>): Checkpoint {
  const c = emptyCheckpoint();
  c.id = `cp-${String(n).padStart(6, "0")}`;
  c.channel_values = { ...values };
  c.channel_versions = Object.fromEntries(Object.keys(values).map((k) => [k, n + 1]));
  return c;
}

/**
 * A LangGraph thread with two branches from one checkpoint: runs "one" and "two", then a run forked from the
 * checkpoint after "one" (forkConfig), which becomes the head. Returns the fork point and the head.
 */
export async function forkedThread(
  saver: FencedCheckpointSaver,
  threadId: string,
): Promise<{ forkPointId: string; headId: string }> {
  const graph = counterGraph(saver);
  const config = { configurable: { thread_id: threadId } };
  await graph.invoke({ log: ["one"] }, config);
  const afterOne = (await graph.getState(config)).config;
  await graph.invoke({ log: ["two"] }, config);
  await graph.invoke({ log: ["replay"] }, forkConfig(afterOne));
  const head = await saver.getTuple(config);
  return {
    forkPointId: afterOne.configurable!.checkpoint_id as string,
    headId: head!.config.configurable!.checkpoint_id as string,
  };
}

/** Follows a listing's `next` cursor from the first page to the last; returns every page. */
export async function walkPages<P extends { next: C | null }, C>(
  app: FastifyInstance,
  url: (cursor: C | undefined) => string,
): Promise<P[]> {
  const pages: P[] = [];
  for (let cursor: C | undefined = undefined; ; ) {
    const { status, body }: { status: number; body: P } = await getJson<P>(app, url(cursor));
    if (status !== 200) throw new Error(`${url(cursor)} answered ${status}: ${JSON.stringify(body)}`);
    pages.push(body);
    if (body.next === null) return pages;
    cursor = body.next;
  }
}

/** A graph that drafts, then waits for a human: its run ends with a pending interrupt on the head checkpoint. */
export async function interruptedThread(saver: FencedCheckpointSaver, threadId: string): Promise<void> {
  const { Annotation, END, START, StateGraph, interrupt } = await import("@langchain/langgraph");
  const Approval = Annotation.Root({ draft: Annotation<string>(), approved: Annotation<boolean>() });
  const graph = new StateGraph(Approval)
    .addNode("write", () => ({ draft: "Refund order #1042" }))
    .addNode("approve", () => ({ approved: interrupt({ question: "Send this refund?" }) as boolean }))
    .addEdge(START, "write")
    .addEdge("write", "approve")
    .addEdge("approve", END)
    .compile({ checkpointer: saver });
  await graph.invoke({}, { configurable: { thread_id: threadId } });
}
