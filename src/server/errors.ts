/**
 * The one place where anything thrown while serving a request becomes a wire error. Statuses come from the core's
 * `ERROR_TABLE` through `FencedStateError.httpStatus`; this file only decides which code a non-core error is.
 * Bad input of any kind (malformed JSON, wrong content type, unknown route, wrong method) is a 4xx with a typed
 * body, never a 5xx.
 */
import {
  FencedStateError,
  InvalidInputError,
  MethodNotAllowedError,
  PayloadTooLargeError,
  UnavailableError,
  UnsupportedMediaTypeError,
} from "../core/errors.js";
import { JSON_MEDIA_TYPE } from "./body.js";

/** What is known about the request that failed. */
export interface FailedRequest {
  method: string;
  url: string;
  /** The declared `Content-Length`, when there was one. */
  contentLength?: number;
  /** The body limit in force, for `PAYLOAD_TOO_LARGE`. */
  bodyLimit: number;
  /** The declared `Content-Type`, for `UNSUPPORTED_MEDIA_TYPE`. */
  contentType?: string;
}

/** Fastify's own errors carry a `code` like `FST_ERR_CTP_BODY_TOO_LARGE` and an HTTP `statusCode`. */
interface FrameworkError {
  code?: unknown;
  statusCode?: unknown;
  message?: unknown;
}

/**
 * Turns `err` into the `FencedStateError` the client receives. Core errors pass through unchanged; Fastify's
 * client errors become `INVALID_INPUT` (or `PAYLOAD_TOO_LARGE`, `NOT_FOUND`); anything else is `UNAVAILABLE`
 * (`unexpected: true`): the outcome is unknown, so the client may retry with the same opId.
 */
export function toWireError(err: unknown, request: FailedRequest): { error: FencedStateError; unexpected: boolean } {
  if (err instanceof FencedStateError) return { error: err, unexpected: false };
  const e = (typeof err === "object" && err !== null ? err : {}) as FrameworkError;
  const status = typeof e.statusCode === "number" ? e.statusCode : 500;
  if (e.code === "FST_ERR_CTP_BODY_TOO_LARGE" || status === 413) {
    // Fastify stops reading at the limit; a chunked body has no declared size, so report the least it must have been.
    const size = request.contentLength ?? request.bodyLimit + 1;
    return { error: new PayloadTooLargeError({ limit: request.bodyLimit, size }), unexpected: false };
  }
  if (status === 404) return { error: routeNotFound(request), unexpected: false };
  if (status === 415) return { error: unsupportedMediaType(request.contentType), unexpected: false };
  if (status >= 400 && status < 500) {
    const message = typeof e.message === "string" ? e.message : "bad request";
    return { error: new InvalidInputError({ issues: [{ path: [], message }] }), unexpected: false };
  }
  return { error: new UnavailableError({ cause: "internal error" }, { cause: err }), unexpected: true };
}

/** `NOT_FOUND` for a path the coordinator does not serve. */
export function routeNotFound(request: Pick<FailedRequest, "method" | "url">): FencedStateError<"NOT_FOUND"> {
  const path = pathOf(request.url);
  return new FencedStateError("NOT_FOUND", `no route ${request.method} ${path}`, { key: path });
}

/** `METHOD_NOT_ALLOWED` for a path served under other methods (`allow`, which the `Allow` header repeats). */
export function methodNotAllowed(
  request: Pick<FailedRequest, "method" | "url">,
  allow: string[],
): MethodNotAllowedError {
  return new MethodNotAllowedError({ method: request.method, path: pathOf(request.url), allow });
}

/** `UNSUPPORTED_MEDIA_TYPE` for a body that is not JSON in UTF-8, or has no declared type. */
export function unsupportedMediaType(contentType: string | undefined): UnsupportedMediaTypeError {
  return new UnsupportedMediaTypeError({ contentType: contentType ?? null, accepted: [JSON_MEDIA_TYPE] });
}

function pathOf(url: string): string {
  return url.split("?")[0] ?? url;
}
