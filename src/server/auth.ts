/**
 * Bearer-token auth, as one Fastify plugin. Without a token the coordinator serves loopback clients only (and
 * `assertBindable` refuses any other address); with one, every route but `/healthz` needs
 * `Authorization: Bearer <token>`, compared in constant time. The token is never logged or echoed.
 *
 * "Loopback clients only" is judged on three things, because the socket address alone is not enough: a web page
 * whose name its attacker rebinds to 127.0.0.1 (DNS rebinding) reaches the coordinator from the user's own machine,
 * through the user's browser. Such a request still names the attacker's host in `Host` and carries the page's
 * `Origin`, so a token-less coordinator serves a request only when its socket peer is loopback, its `Host` is a
 * loopback name or address (any port), and its `Origin`, if any, is a loopback origin. No CORS headers are ever sent,
 * so a page of another origin cannot read an answer either.
 */
import fp from "fastify-plugin";
import { createHash, timingSafeEqual } from "node:crypto";
import { isIP } from "node:net";
import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import { ForbiddenError, InvalidInputError, UnauthorizedError } from "../core/errors.js";

export interface AuthOptions {
  /** The shared secret; `undefined` means "loopback clients only". */
  token?: string;
}

/** Routes that answer without credentials: liveness probes carry none. */
const OPEN_ROUTES = new Set(["/healthz"]);

/** True for 127.0.0.0/8, ::1, their IPv4-mapped forms and `localhost`. */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.replace(/^\[|\]$/g, "").toLowerCase();
  if (a === "localhost" || a === "::1") return true;
  const v4 = a.startsWith("::ffff:") ? a.slice(7) : a;
  return isIP(v4) === 4 && v4.startsWith("127.");
}

/**
 * True when a `Host` header names loopback: `localhost`, an address in 127.0.0.0/8, `[::1]` (or an IPv4-mapped
 * loopback in brackets), with or without a port. Anything else — another name, userinfo, a second colon — is not.
 */
export function isLoopbackHost(header: string | undefined): boolean {
  const m = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/i.exec(header ?? "");
  if (!m) return false;
  const name = m[1]!;
  // A bare IPv6 address must be bracketed in Host; isLoopback accepts both forms, so insist on the brackets here.
  return name.startsWith("[")
    ? isIP(name.slice(1, -1)) === 6 && isLoopback(name)
    : isLoopback(name) && !name.includes(":");
}

/** True when an `Origin` header names a loopback origin (`http(s)://` and a loopback host). `null` is not one. */
export function isLoopbackOrigin(origin: string): boolean {
  const m = /^https?:\/\/([^/?#@]+)$/i.exec(origin);
  return m !== null && isLoopbackHost(m[1]);
}

/** Throws `INVALID_INPUT` when `host` is not loopback and there is no token to protect it, or the token is empty. */
export function assertBindable(host: string, token: string | undefined): void {
  if (token !== undefined && token.length === 0) {
    throw new InvalidInputError({ issues: [{ path: ["token"], message: "the token must not be empty" }] });
  }
  if (token === undefined && !isLoopback(host)) {
    throw new InvalidInputError({
      issues: [
        {
          path: ["host"],
          message: `refusing to bind ${host} without a token: only loopback addresses may go unauthenticated`,
        },
      ],
    });
  }
}

/** Hashing first gives both sides one length, which `timingSafeEqual` requires, without leaking the token's. */
function digest(secret: string): Buffer {
  return createHash("sha256").update(secret, "utf8").digest();
}

const authPlugin: FastifyPluginAsync<AuthOptions> = async (app, { token }) => {
  const expected = token === undefined ? undefined : digest(token);
  // A callback hook, not an async one: it runs on every request, and an async hook costs a promise and a hop.
  app.addHook("onRequest", (request, _reply, done) => done(refusal(request)));
  /** Why `request` may not be served, or `undefined` when it may. */
  function refusal(request: FastifyRequest): Error | undefined {
    if (expected === undefined) {
      // Every route, /healthz included: without a token nothing may answer a rebound name.
      if (!isLoopback(request.socket.remoteAddress)) {
        return new ForbiddenError("this coordinator has no token and serves loopback clients only");
      }
      if (!isLoopbackHost(request.headers.host)) {
        return new ForbiddenError(
          "this coordinator has no token and serves requests for a loopback Host only (localhost, 127.0.0.0/8, [::1])",
        );
      }
      const origin = request.headers.origin;
      if (origin !== undefined && !isLoopbackOrigin(origin)) {
        return new ForbiddenError("this coordinator has no token and serves no other web origin than loopback");
      }
      return undefined;
    }
    if (OPEN_ROUTES.has(request.routeOptions.url ?? "")) return undefined;
    const presented = /^Bearer +(\S+) *$/i.exec(request.headers.authorization ?? "")?.[1];
    if (presented === undefined || !timingSafeEqual(digest(presented), expected)) return new UnauthorizedError();
    return undefined;
  }
};

/**
 * The auth plugin, wrapped by `fastify-plugin` so its hook covers the routes registered beside it rather than only
 * its own encapsulated scope.
 */
export const bearerAuth = fp(authPlugin, { fastify: "5.x", name: "fenced-state-bearer-auth" });
