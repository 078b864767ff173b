/**
 * `GET /v1/watch?prefix=&fromSeq=`: the event log as server-sent events. Each entry is one `state` event whose id is
 * its seq, so a client that reconnects with `Last-Event-ID` resumes right after the last event it saw. The stream
 * ends on client disconnect or server shutdown; a store failure ends it with an `error` event carrying the wire
 * error body (G6: the watcher learns that it stopped, it does not just go quiet).
 */
import type { FastifyInstance } from "fastify";
import { InvalidInputError } from "../core/errors.js";
import type { StateStore } from "../core/store.js";
import { WatchRequestSchema } from "../core/schemas.js";
import type { ServerMetrics } from "./metrics.js";
import { toWireError } from "./errors.js";

export interface WatchRouteOptions {
  store: StateStore;
  metrics: ServerMetrics;
  /** Open streams, aborted by the server's shutdown. */
  streams: Set<AbortController>;
  /** A comment line keeps idle proxies from cutting the stream. Default 15 s. */
  heartbeatMs: number;
  bodyLimit: number;
}

export function registerWatchRoute(app: FastifyInstance, options: WatchRouteOptions): void {
  const { store, metrics, streams, heartbeatMs } = options;
  app.get("/v1/watch", { schema: { querystring: WatchRequestSchema } }, async (request, reply) => {
    const query = request.query as { prefix: string; fromSeq: number };
    const lastEventId = parseLastEventId(request.headers["last-event-id"]);
    const fromSeq = lastEventId === undefined ? query.fromSeq : lastEventId + 1;

    const stop = new AbortController();
    streams.add(stop);
    metrics.watchers++;
    reply.hijack();
    const res = reply.raw;
    // A watch stream holds its connection until it ends; never hand that socket back to keep-alive afterwards.
    res.shouldKeepAlive = false;
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", "x-accel-buffering": "no" });
    res.write(": watching\n\n");
    res.once("close", () => stop.abort());
    const heartbeat = setInterval(() => res.write(": ping\n\n"), heartbeatMs);
    try {
      for await (const event of store.watch(query.prefix, { fromSeq, signal: stop.signal })) {
        res.write(`id: ${event.seq}\nevent: state\ndata: ${JSON.stringify(event)}\n\n`);
      }
    } catch (err) {
      if (!stop.signal.aborted) {
        const { error } = toWireError(err, { method: "GET", url: request.url, bodyLimit: options.bodyLimit });
        res.write(`event: error\ndata: ${JSON.stringify(error.toJSON())}\n\n`);
      }
    } finally {
      clearInterval(heartbeat);
      streams.delete(stop);
      metrics.watchers--;
      res.end();
    }
  });
}

/**
 * The seq a reconnecting client saw last. An empty header is what an EventSource that received no event yet (or an
 * event without id) sends: it means "none", so `?fromSeq` applies — `Number("")` would be 0 and replay the whole log.
 * Anything but a non-negative integer is `INVALID_INPUT`, before any stream opens.
 */
export function parseLastEventId(header: string | string[] | undefined): number | undefined {
  const text = (Array.isArray(header) ? header.join(",") : header)?.trim();
  if (text === undefined || text === "") return undefined;
  const seq = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(seq)) {
    throw new InvalidInputError({
      issues: [
        { path: ["Last-Event-ID"], message: "Last-Event-ID must be the seq of an event (a non-negative integer)" },
      ],
    });
  }
  return seq;
}
