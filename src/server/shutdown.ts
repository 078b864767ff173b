/**
 * Graceful shutdown. Once `close()` begins: open watch streams end; connections with no request in flight are
 * closed at once (Node's own `close()` misses sockets that connected but never sent a request, and would wait for
 * their timeout); every response still going out closes its connection; and a request that still arrives on one
 * (HTTP pipelining) is not executed — it gets a typed `UNAVAILABLE`. In-flight requests, commits included, finish.
 * A connection still open when the grace period ends is cut: a client that keeps its request half-sent cannot hold
 * the shutdown for ever (it learns nothing of an outcome, and retries elsewhere with the same opId).
 */
import type { Socket } from "node:net";
import type { FastifyInstance } from "fastify";
import { UnavailableError } from "../core/errors.js";

/** The default time `close()` waits for busy connections before it cuts them. */
export const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;

/** Installs the shutdown hooks; `streams` are aborted when shutdown begins, busy connections cut after `graceMs`. */
export function drainOnClose(app: FastifyInstance, streams: Set<AbortController>, graceMs: number): void {
  let closing = false;
  let grace: NodeJS.Timeout | undefined;
  const inFlight = new Map<Socket, number>();
  app.server.on("connection", (socket: Socket) => {
    inFlight.set(socket, 0);
    socket.once("close", () => inFlight.delete(socket));
  });

  // Callback hooks, not async ones: these run on every request, and an async hook costs a promise and a hop each.
  app.addHook("onRequest", (request, reply, done) => {
    if (closing) return done(new UnavailableError({ cause: "the coordinator is shutting down" }));
    const socket = request.raw.socket;
    const n = inFlight.get(socket);
    // An injected request (tests) has no real socket.
    if (n !== undefined) {
      inFlight.set(socket, n + 1);
      reply.raw.once("close", () => {
        const now = inFlight.get(socket);
        if (now !== undefined) inFlight.set(socket, now - 1);
      });
    }
    done();
  });
  app.addHook("onSend", (_request, reply, payload, done) => {
    if (closing) reply.header("connection", "close");
    done(null, payload);
  });
  app.addHook("preClose", async () => {
    closing = true;
    for (const s of streams) s.abort();
    for (const [socket, n] of inFlight) if (n === 0) socket.destroy();
    grace = setTimeout(() => {
      for (const socket of inFlight.keys()) socket.destroy();
    }, graceMs);
    grace.unref();
  });
  app.addHook("onClose", async () => clearTimeout(grace));
}
