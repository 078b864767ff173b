/**
 * `fenced inspect`'s server: a read-only web page over one store — keys and their claims, the event log live and by
 * page, LangGraph threads as lineage trees. Fastify, like the coordinator, and built from its pieces: the bearer-token
 * plugin (src/server/auth.ts), the wire-error mapping, the zod query validation and the SSE watch route. Nothing
 * here writes to the store.
 *
 * The page itself (HTML, CSS, ES modules) carries no data and is served to anyone who reaches the port; every
 * `/api/*` route and the event stream sit behind the same auth as `fenced serve`: loopback only without a token,
 * `Authorization: Bearer <token>` with one.
 *
 * @example
 * ```ts
 * // What `fenced inspect --db state.db` runs:
 * const inspector = createInspector(await openStore({ path: "state.db" }));
 * console.log(await inspector.listen()); // http://127.0.0.1:7374
 * ```
 */
import type { SerializerProtocol } from "@langchain/langgraph-checkpoint";
import Fastify, { type FastifyInstance, type FastifyServerOptions } from "fastify";
import { ForbiddenError, NotFoundError } from "../core/errors.js";
import type { StateStore } from "../core/store.js";
import { assertBindable, bearerAuth, isLoopbackHost } from "../server/auth.js";
import { routeNotFound, toWireError } from "../server/errors.js";
import { ServerMetrics } from "../server/metrics.js";
import { DEFAULT_SHUTDOWN_GRACE_MS, drainOnClose } from "../server/shutdown.js";
import { zodValidatorCompiler } from "../server/validation.js";
import { registerWatchRoute } from "../server/watch.js";
import { countEvents, readEventsPage } from "./events.js";
import { listKeys, readKey } from "./keys.js";
import { loadPageFiles } from "./page-files.js";
import {
  CheckpointQuerySchema,
  CountsQuerySchema,
  EventsQuerySchema,
  KeyQuerySchema,
  KeysQuerySchema,
  LineageQuerySchema,
  ThreadQuerySchema,
  ThreadsQuerySchema,
  type CheckpointQuery,
  type CountsQuery,
  type EventsQuery,
  type KeysQuery,
  type LineageQuery,
  type ThreadsQuery,
} from "./schemas.js";
import { DEFAULT_LANGGRAPH_PREFIX, ThreadInspector } from "./threads.js";

/** The default port of `fenced inspect` (one above `fenced serve`'s). */
export const DEFAULT_INSPECT_PORT = 7374;

export interface InspectorOptions {
  /** Address to bind. Default `127.0.0.1`; anything but loopback needs `token`. */
  host?: string;
  /** Port; `0` picks a free one. Default 7374. */
  port?: number;
  /** Bearer token for the API; the page asks for it. Without one, loopback clients only. */
  token?: string;
  /** The LangGraph saver's `keyPrefix`. Default `"langgraph"`. */
  langgraphPrefix?: string;
  /** The saver's serializer, to decode checkpoint values. Default LangGraph's `JsonPlusSerializer`. */
  serde?: SerializerProtocol;
  /** Fastify's logger option. Default off. */
  logger?: FastifyServerOptions["logger"];
  /** Keep-alive comments on the event stream, in ms. Default 15,000. */
  heartbeatMs?: number;
  /**
   * Most event seqs one `/api/events` request scans (a sparse filter then answers short, with a cursor). Default
   * 20,000; counts scan five times as many.
   */
  scanBudget?: number;
}

export interface Inspector {
  readonly app: FastifyInstance;
  /** Binds and resolves to the page's URL, e.g. `http://127.0.0.1:7374`. */
  listen(): Promise<string>;
  /** Ends event streams and stops. The store stays open: its owner closes it. */
  close(): Promise<void>;
}

/** A section of the page, shown when the store has keys under its prefix. */
export interface SectionInfo {
  id: "threads";
  title: string;
  prefix: string;
}

const PAGE_HEADERS = {
  "content-security-policy":
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-cache",
};

/** Builds the inspector over `store`. Throws `INVALID_INPUT` when `host` is not loopback and there is no `token`. */
export function createInspector(store: StateStore, options: InspectorOptions = {}): Inspector {
  const host = options.host ?? "127.0.0.1";
  const port = options.port ?? DEFAULT_INSPECT_PORT;
  assertBindable(host, options.token);
  const backend = store.backend;
  const threads = new ThreadInspector(backend, options.langgraphPrefix ?? DEFAULT_LANGGRAPH_PREFIX, options.serde);
  const files = loadPageFiles();

  const app = Fastify({ logger: options.logger ?? false, return503OnClosing: false });
  const streams = new Set<AbortController>();
  app.setValidatorCompiler(zodValidatorCompiler);
  app.setErrorHandler((err, request, reply) => {
    const { error, unexpected } = toWireError(err, { method: request.method, url: request.url, bodyLimit: 0 });
    if (unexpected) request.log.error({ err }, "unexpected error; answered UNAVAILABLE");
    return reply.code(error.httpStatus).send(error.toJSON());
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send(routeNotFound(request).toJSON()));
  drainOnClose(app, streams, DEFAULT_SHUTDOWN_GRACE_MS);
  if (options.token === undefined) {
    // Without a token the socket address alone says "loopback"; a page elsewhere whose name was rebound to 127.0.0.1
    // would pass that check, so the Host it asked for must be a loopback name as well (DNS rebinding).
    app.addHook("onRequest", async (request) => {
      if (!isLoopbackHost(request.headers.host))
        throw new ForbiddenError("the inspector serves loopback host names only");
    });
  }

  app.get("/", async (_request, reply) =>
    reply
      .headers({ ...PAGE_HEADERS, "content-type": files.get("index.html")!.type })
      .send(files.get("index.html")!.body),
  );
  app.get("/page/:name", async (request, reply) => {
    const file = files.get((request.params as { name: string }).name);
    if (!file) return reply.code(404).send(routeNotFound(request).toJSON());
    return reply.headers({ ...PAGE_HEADERS, "content-type": file.type }).send(file.body);
  });

  // Everything that shows data: behind the coordinator's auth plugin, scoped to these routes.
  app.register(async (api) => {
    await api.register(bearerAuth, options.token === undefined ? {} : { token: options.token });
    api.get("/api/summary", async () => {
      const sections: SectionInfo[] = [];
      if (backend.checkpoints && (await threads.present())) {
        sections.push({
          id: "threads",
          title: "LangGraph threads",
          prefix: `${options.langgraphPrefix ?? DEFAULT_LANGGRAPH_PREFIX}/`,
        });
      }
      // Work queues and fenced files (issue 20) have no key convention yet; their sections join this list when they do.
      return { backend: backend.kind, lastSeq: await backend.lastSeq(), now: store.now(), sections };
    });
    api.get("/api/keys", { schema: { querystring: KeysQuerySchema } }, async (request) =>
      listKeys(backend, request.query as KeysQuery, store.now()),
    );
    api.get("/api/key", { schema: { querystring: KeyQuerySchema } }, async (request) => {
      const { key } = request.query as { key: string };
      const detail = await readKey(backend, key, store.now());
      if (!detail) throw new NotFoundError({ key });
      return detail;
    });
    api.get("/api/events", { schema: { querystring: EventsQuerySchema } }, async (request) =>
      readEventsPage(backend, request.query as EventsQuery, options.scanBudget),
    );
    api.get("/api/events/counts", { schema: { querystring: CountsQuerySchema } }, async (request) =>
      countEvents(backend, request.query as CountsQuery, store.now(), options.scanBudget && options.scanBudget * 5),
    );
    api.get("/api/threads", { schema: { querystring: ThreadsQuerySchema } }, async (request) =>
      threads.listThreads(request.query as ThreadsQuery, store.now()),
    );
    api.get("/api/thread", { schema: { querystring: ThreadQuerySchema } }, async (request) =>
      threads.thread((request.query as { thread: string }).thread, store.now()),
    );
    api.get("/api/thread/lineage", { schema: { querystring: LineageQuerySchema } }, async (request) =>
      threads.lineage(request.query as LineageQuery),
    );
    api.get("/api/thread/checkpoint", { schema: { querystring: CheckpointQuerySchema } }, async (request) =>
      threads.checkpoint(request.query as CheckpointQuery),
    );
    // The live stream is the coordinator's own watch route (SSE, resumable with Last-Event-ID).
    registerWatchRoute(api, {
      store,
      metrics: new ServerMetrics(),
      streams,
      heartbeatMs: options.heartbeatMs ?? 15_000,
      bodyLimit: 0,
    });
  });

  return {
    app,
    async listen() {
      await app.listen({ host, port });
      const { port: bound } = app.server.address() as { port: number };
      return `http://${host.includes(":") ? `[${host}]` : host}:${bound}`;
    },
    close: () => app.close(),
  };
}
