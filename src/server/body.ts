/**
 * The coordinator's one body parser: `application/json` in UTF-8, handed to the core exactly as sent or refused
 * (G6: a body is never altered on its way in). Fastify's own parser would decode invalid UTF-8 to U+FFFD, ignore a
 * declared charset, and let `JSON.parse` round 9007199254740993 to 9007199254740992; each of those stored something
 * other than what the client sent, with a 200. Here:
 * - a charset other than UTF-8 → 415 `UNSUPPORTED_MEDIA_TYPE` (as is any media type other than JSON, or none);
 * - bytes that are not well-formed UTF-8 → 400 `INVALID_INPUT` (strict decoding, no replacement characters);
 * - a number that does not survive parsing — an integral value beyond ±(2^53−1) (the literal was, or may have been,
 *   rounded) or one beyond the float range → 400 `INVALID_INPUT`; send such numbers as strings (every double beyond
 *   2^53 is integral, so this is the core's rule: no number beyond ±(2^53−1)).
 * A `__proto__` member is data, as in the core: `JSON.parse` makes it an own property (it never sets a prototype),
 * the request schemas are strict (so it is an unknown field there), and values keep it (docs/design.md, issue 15.8).
 */
import type { FastifyInstance } from "fastify";
import { InvalidInputError, UnsupportedMediaTypeError } from "../core/errors.js";

/** The one media type the JSON routes read. */
export const JSON_MEDIA_TYPE = "application/json";

const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** Replaces Fastify's parsers with the strict JSON one; any other media type is then a 415 (see errors.ts). */
export function registerJsonBody(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(JSON_MEDIA_TYPE, { parseAs: "buffer" }, (request, body, done) => {
    // No route, no body to read: the answer is 404 or 405 whatever was sent.
    if (request.is404) return done(null, undefined);
    try {
      done(null, parseJsonBody(request.headers["content-type"], body as Buffer));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}

/** The value of a `Content-Type` header's `charset` parameter, lower-cased, or `undefined`. */
export function charsetOf(contentType: string | undefined): string | undefined {
  return /;\s*charset\s*=\s*"?([^";\s]*)"?/i.exec(contentType ?? "")?.[1]?.toLowerCase();
}

/** Decodes and parses one JSON body under the rules above; throws the typed error otherwise. */
export function parseJsonBody(contentType: string | undefined, bytes: Buffer): unknown {
  const charset = charsetOf(contentType);
  if (charset !== undefined && charset !== "utf-8" && charset !== "utf8") {
    throw new UnsupportedMediaTypeError({ contentType: contentType ?? null, accepted: [JSON_MEDIA_TYPE] });
  }
  const fail = (message: string, path: (string | number)[] = []) => new InvalidInputError({ issues: [{ path, message }] });
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    throw fail("the body is not valid UTF-8");
  }
  if (text.trim() === "") throw fail("the body is empty; send a JSON object");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw fail(`malformed JSON: ${(err as Error).message}`);
  }
  const inexact = findInexactNumber(text);
  if (inexact) throw fail(inexact.message, inexact.path);
  return value;
}

type Frame = { kind: "object"; key: string | undefined; expectKey: boolean } | { kind: "array"; index: number };

/**
 * Walks well-formed JSON `text` (it has been parsed) and returns where the first number is that would not reach the
 * core as sent: a literal whose parsed value is not finite or is integral beyond ±(2^53−1). `null` when there is none.
 */
export function findInexactNumber(text: string): { path: (string | number)[]; message: string } | null {
  const stack: Frame[] = [];
  const path = () => stack.map((f) => (f.kind === "array" ? f.index : (f.key ?? "")));
  for (let i = 0; i < text.length; ) {
    const c = text[i]!;
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      const top = stack.at(-1);
      if (top?.kind === "object" && top.expectKey) {
        top.key = JSON.parse(text.slice(i, j + 1)) as string;
        top.expectKey = false;
      }
      i = j + 1;
      continue;
    }
    if (c === "-" || (c >= "0" && c <= "9")) {
      let j = i + 1;
      while (j < text.length && "0123456789.eE+-".includes(text[j]!)) j++;
      const literal = text.slice(i, j);
      const n = Number(literal);
      if (!Number.isFinite(n)) return { path: path(), message: `the number ${literal} is beyond the range of a double` };
      if (Number.isInteger(n) && !Number.isSafeInteger(n)) {
        return { path: path(), message: `the integer ${literal} is outside ±(2^53−1) and would be rounded; send it as a string` };
      }
      i = j;
      continue;
    }
    if (c === "{") stack.push({ kind: "object", key: undefined, expectKey: true });
    else if (c === "[") stack.push({ kind: "array", index: 0 });
    else if (c === "}" || c === "]") stack.pop();
    else if (c === ",") {
      const top = stack.at(-1)!;
      if (top.kind === "array") top.index++;
      else top.expectKey = true;
    }
    i++;
  }
  return null;
}
