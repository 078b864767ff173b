/**
 * Bearer-token auth, as one Fastify plugin. Without a token the coordinator serves loopback clients only (and
 * `assertBindable` refuses any other address); with one, every route but `/healthz` needs
 * `Authorization: Bearer <token>`, compared in constant time. The token is never logged or echoed.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { isIP } from "node:net";
import type { FastifyPluginAsync } from "fastify";
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

/** Throws `INVALID_INPUT` when `host` is not loopback and there is no token to protect it, or the token is empty. */
export function assertBindable(host: string, token: string | undefined): void {
  if (token !== undefined && token.length === 0) {
    throw new InvalidInputError({ issues: [{ path: ["token"], message: "the token must not be empty" }] });
  }
  if (token === undefined && !isLoopback(host)) {
    throw new InvalidInputError({
      issues: [{ path: ["host"], message: `refusing to bind ${host} without a token: only loopback addresses may go unauthenticated` }],
    });
  }
}

/** Hashing first gives both sides one length, which `timingSafeEqual` requires, without leaking the token's. */
function digest(secret: string): Buffer {
  return createHash("sha256").update(secret, "utf8").digest();
}

const authPlugin: FastifyPluginAsync<AuthOptions> = async (app, { token }) => {
  const expected = token === undefined ? undefined : digest(token);
  app.addHook("onRequest", async (request) => {
    if (OPEN_ROUTES.has(request.routeOptions.url ?? "")) return;
    if (expected === undefined) {
      if (!isLoopback(request.socket.remoteAddress)) {
        throw new ForbiddenError("this coordinator has no token and serves loopback clients only");
      }
      return;
    }
    const presented = /^Bearer +(\S+) *$/i.exec(request.headers.authorization ?? "")?.[1];
    if (presented === undefined || !timingSafeEqual(digest(presented), expected)) throw new UnauthorizedError();
  });
};

/**
 * The auth plugin. Marked `skip-override` (what `fastify-plugin` does) so its hook covers the routes registered
 * beside it rather than only its own encapsulated scope.
 */
export const bearerAuth: FastifyPluginAsync<AuthOptions> = Object.assign(authPlugin, {
  [Symbol.for("skip-override")]: true,
});
