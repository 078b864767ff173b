/**
 * The HTTP coordinator (docs/design.md §7): Fastify over one `StateStore`. Every route calls the core; this module only
 * translates HTTP to `StateStore` calls and errors to `{ error: { code, message, retryable, details } }`.
 *
 * @example
 * ```ts
 * import { openStore } from "fenced-state";
 * import { createServer } from "fenced-state/server";
 * const store = await openStore();
 * const server = createServer(store, { port: 7373 });
 * console.log(await server.listen()); // http://127.0.0.1:7373
 * // … on SIGTERM:
 * await server.close(); // finishes in-flight commits first
 * await store.close();
 * ```
 */
import Fastify, { type FastifyInstance, type FastifyServerOptions, type HookHandlerDoneFunction } from "fastify";
import { FencedStateError, InvalidInputError } from "../core/errors.js";
import type { Duplex } from "node:stream";
import type { StateStore } from "../core/store.js";
import { assertBindable, bearerAuth } from "./auth.js";
import { registerJsonBody } from "./body.js";
import { methodNotAllowed, routeNotFound, toWireError, unsupportedMediaType } from "./errors.js";
import { DEFAULT_SHUTDOWN_GRACE_MS, drainOnClose } from "./shutdown.js";
export { DEFAULT_SHUTDOWN_GRACE_MS };
import { ServerMetrics } from "./metrics.js";
import { openApiDocument } from "./openapi.js";
import { fileRoutes, GET_ROUTES, JSON_ROUTES } from "./routes.js";
import { SWEPT_PREFIX } from "../langgraph/lifecycle.js";
import type { FencedFiles } from "../files/files.js";
import { zodValidatorCompiler } from "./validation.js";
import { registerWatchRoute } from "./watch.js";

export { isLoopback, isLoopbackHost, isLoopbackOrigin, assertBindable } from "./auth.js";
export { ServerMetrics } from "./metrics.js";
export {
  JSON_ROUTES,
  GET_ROUTES,
  fileRoutes,
  ReadRequestSchema,
  ListResultSchema,
  ReleaseResultSchema,
  ThreadStatusSchema,
  type JsonRoute,
  type GetRoute,
} from "./routes.js";
export { ErrorBodySchema, KEY_PATTERN, PREFIX_PATTERN } from "./openapi.js";

/** The default port of `fenced serve`. */
export const DEFAULT_PORT = 7373;
/** The default request body limit: the default value limit (1 MiB) plus room for the request around it. */
export const DEFAULT_BODY_LIMIT = 2 * 1024 * 1024;
/** The default time a client has to send a whole request, headers and body. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

export interface ServerOptions {
  /** Bearer token. Without one the server binds and answers loopback only. */
  token?: string;
  /** Address to bind. Default `127.0.0.1`; anything but loopback needs `token`. */
  host?: string;
  /** Port to bind; `0` picks a free one. Default 7373. */
  port?: number;
  /** Largest request body in bytes; larger ones get `PAYLOAD_TOO_LARGE` (413). Default 2 MiB. */
  bodyLimit?: number;
  /** Fastify's logger option. The `Authorization` header is always redacted. Default off. */
  logger?: FastifyServerOptions["logger"];
  /** Interval of keep-alive comments on watch streams, in ms. Default 15,000. */
  watchHeartbeatMs?: number;
  /**
   * Time a client has to send a whole request (headers and body), in ms; a slower one gets 408 and its connection is
   * closed. Default 30,000. (A watch stream's response may last for ever: only receiving the request is bounded.)
   */
  requestTimeoutMs?: number;
  /**
   * How long `close()` lets busy connections finish, in ms, before it cuts them. Default 10,000. A client cut off
   * mid-request learns nothing of its outcome: it retries elsewhere with the same opId (G3).
   */
  shutdownGraceMs?: number;
  /** A fenced directory to serve under `/v1/files/*` (docs/files.md). Without one those routes do not exist. */
  files?: FencedFiles;
}

export interface FencedServer {
  /** The Fastify instance (for `inject` in tests, or to add routes). */
  readonly app: FastifyInstance;
  readonly metrics: ServerMetrics;
  /** Binds `host:port` and resolves to the base URL, e.g. `http://127.0.0.1:7373`. */
  listen(): Promise<string>;
  /**
   * Stops accepting, ends watch streams, closes idle connections and each busy one after its last response, runs
   * nothing that arrives meanwhile (a pipelined request gets `UNAVAILABLE`: retry elsewhere with the same opId), and
   * resolves once every in-flight request — commits included — has been answered. Connections still busy after
   * `shutdownGraceMs` (a client that never finishes sending its request) are cut, so it always resolves; a store
   * call already running is still awaited. The store stays open: its owner closes it afterwards.
   */
  close(): Promise<void>;
}

/** Largest over-limit body still read to its end so that the client receives its 413 (see the error handler). */
const DRAIN_LIMIT = 64 * 1024 * 1024;

const REDACT = { paths: ["req.headers.authorization", "headers.authorization"], censor: "[redacted]" };

/**
 * Builds the coordinator over `store`. Throws `INVALID_INPUT` when `host` is not loopback and there is no `token`.
 */
export function createServer(store: StateStore, options: ServerOptions = {}): FencedServer {
  const host = options.host ?? "127.0.0.1";
  const port = options.port ?? DEFAULT_PORT;
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  assertBindable(host, options.token);

  const logger =
    options.logger === true ? { redact: REDACT } : options.logger ? { ...options.logger, redact: REDACT } : false;
  const requestTimeout = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  // Fastify's requestTimeout is 0 (none) by default: a client that stalls mid-body would hold its connection, and
  // with it close(), for ever. (An idle kept-alive connection is closed after Fastify's keepAliveTimeout, 72 s, and
  // at once by close().)
  const app = Fastify({
    logger,
    bodyLimit,
    return503OnClosing: false,
    requestTimeout,
    clientErrorHandler: answerClientError,
    http: {
      headersTimeout: Math.min(60_000, requestTimeout),
      // Node looks for expired requests every 30 s by default, which would let a stalled one live twice its time.
      connectionsCheckingInterval: Math.max(100, Math.min(5_000, Math.floor(requestTimeout / 4))),
    },
  });
  const metrics = new ServerMetrics(
    () => store.lastSeq(),
    async () =>
      Object.fromEntries(
        (await store.list(SWEPT_PREFIX)).map((r) => [r.key.slice(SWEPT_PREFIX.length), Number(r.exists ? r.value : 0)]),
      ),
  );
  const streams = new Set<AbortController>();
  /** Store calls under way: close() waits for them even after cutting connections, so the store closes after. */
  const running = new Set<Promise<unknown>>();

  app.setValidatorCompiler(zodValidatorCompiler);
  app.setErrorHandler((err, request, reply) => {
    const contentLength = Number(request.headers["content-length"]);
    const { error, unexpected } = toWireError(err, {
      method: request.method,
      url: request.url,
      bodyLimit,
      ...(Number.isSafeInteger(contentLength) && { contentLength }),
      ...(request.headers["content-type"] !== undefined && { contentType: request.headers["content-type"] }),
    });
    if (unexpected) request.log.error({ err }, "unexpected error; answered UNAVAILABLE");
    // Fastify closes the connection after a body it would not read. A client still sending (most do not read the
    // answer before they finish) would then see a reset instead of the 413: read and discard a bounded overrun.
    if (error.code === "PAYLOAD_TOO_LARGE" && (contentLength || Infinity) <= DRAIN_LIMIT)
      reply.removeHeader("connection");
    if (error.code === "METHOD_NOT_ALLOWED")
      reply.header("allow", (error.details as { allow: string[] }).allow.join(", "));
    return reply.code(error.httpStatus).send(error.toJSON());
  });
  app.setNotFoundHandler(async (request) => {
    const path = request.url.split("?")[0] ?? request.url;
    const allow = HTTP_METHODS.filter((method) => app.hasRoute({ method, url: path }));
    throw allow.length > 0 ? methodNotAllowed(request, allow) : routeNotFound(request);
  });
  registerJsonBody(app);

  // Hooks on every request take Fastify's callback form: an async hook costs a promise and a microtask hop each.
  app.addHook("onRequest", (request, reply, done) => {
    const route = request.routeOptions.url ?? "(unmatched)";
    if (route !== "/v1/watch") {
      const started = process.hrtime.bigint();
      metrics.inflight++;
      reply.raw.once("close", () => {
        metrics.inflight--;
        metrics.observeRequest(
          request.method,
          route,
          reply.statusCode,
          Number(process.hrtime.bigint() - started) / 1e9,
        );
      });
    }
    done();
  });
  drainOnClose(app, streams, options.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS);
  app.register(bearerAuth, options.token === undefined ? {} : { token: options.token });

  const routes = [...JSON_ROUTES, ...(options.files ? fileRoutes(options.files) : [])];
  for (const r of routes) {
    const countsCommits = r.operationId === "commit" || r.operationId === "txn";
    const preValidation = (
      request: { headers: { "content-type"?: string } },
      _reply: unknown,
      done: HookHandlerDoneFunction,
    ) => {
      // A body-less POST skips the content-type parser: it must still say it is JSON.
      done(request.headers["content-type"] === undefined ? unsupportedMediaType(undefined) : undefined);
    };
    app.post(r.url, { schema: { body: r.body }, preValidation }, async (request) => {
      let call: Promise<unknown> | undefined;
      try {
        call = r.handle(store, request.body);
        running.add(call);
        const result = await call;
        if (countsCommits) metrics.observeCommit((result as { replayed: boolean }).replayed ? "replayed" : "committed");
        return result;
      } catch (err) {
        if (countsCommits) metrics.observeCommit(err instanceof FencedStateError ? err.code : "UNAVAILABLE");
        throw err;
      } finally {
        // The handler awaits its call to the end whatever the client does, so it is the one place to forget it.
        if (call) running.delete(call);
      }
    });
  }
  for (const r of GET_ROUTES) {
    app.get(r.url, { schema: { params: r.params, querystring: r.query } }, (request) =>
      r.handle(store, { params: request.params, query: request.query }),
    );
  }
  registerWatchRoute(app, { store, metrics, streams, heartbeatMs: options.watchHeartbeatMs ?? 15_000, bodyLimit });

  const openapi = openApiDocument(
    routes,
    { version: "1", limits: store.limits, tokenRequired: options.token !== undefined },
    GET_ROUTES,
  );
  app.get("/openapi.json", async () => openapi);
  app.get("/healthz", async () => ({ status: "ok", backend: store.backend.kind, lastSeq: await store.lastSeq() }));
  app.get("/metrics", async (_request, reply) =>
    metrics.render().then(({ contentType, text }) => reply.type(contentType).send(text)),
  );

  return {
    app,
    metrics,
    async listen() {
      await app.listen({ host, port });
      const { port: bound } = app.server.address() as { port: number };
      return `http://${host.includes(":") ? `[${host}]` : host}:${bound}`;
    },
    async close() {
      await app.close();
      await Promise.allSettled([...running]);
    },
  };
}

/** The methods a `405` may list in `Allow`. */
const HTTP_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"] as const;

/**
 * Node's answer to a request it could not parse, before any route runs. A request line or headers over Node's limit (a
 * huge query string) is bad input like any other: `400 INVALID_INPUT` with the error body every route answers, not
 * Node's bare 431. A request that took too long keeps its 408; anything else is a 400 too.
 */
function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === "ECONNRESET" || socket.destroyed) return;
  if (socket.writable) {
    const [status, body] =
      err.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? ["408 Request Timeout", '{"error":"Request Timeout","message":"Client Timeout","statusCode":408}']
        : [
            "400 Bad Request",
            JSON.stringify(
              new InvalidInputError({
                issues: [
                  {
                    path: [],
                    message:
                      err.code === "HPE_HEADER_OVERFLOW"
                        ? "the request line and headers are too large"
                        : "the request could not be parsed",
                  },
                ],
              }).toJSON(),
            ),
          ];
    socket.write(
      `HTTP/1.1 ${status}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}
