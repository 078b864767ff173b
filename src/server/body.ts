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
  const fail = (message: string, path: (string | number)[] = []) =>
    new InvalidInputError({ issues: [{ path, message }] });
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

/** Where the first inexact number of well-formed JSON `text` is, with the reason; `null` when every number is exact. */
export function findInexactNumber(text: string): { path: (string | number)[]; message: string } | null {
  const found = firstInexactNumber(text);
  return found && { path: pathAt(text, found.at), message: found.message };
}

/**
 * One pass over well-formed JSON `text` (it has been parsed) that looks at number literals only: the first whose
 * parsed value is not finite or is integral beyond ±(2^53−1). Strings are skipped with `indexOf`; a literal of at most
 * 15 digits without exponent is exact, so `Number()` runs only on the rare longer ones.
 */
function firstInexactNumber(text: string): { at: number; message: string } | null {
  for (let i = 0; i < text.length; ) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      i = stringEnd(text, i) + 1;
      continue;
    }
    if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      let j = i + 1;
      let plain = true;
      for (; j < text.length; j++) {
        const d = text.charCodeAt(j);
        if (d === 0x65 || d === 0x45)
          plain = false; // e, E
        else if (!(d === 0x2e || d === 0x2b || d === 0x2d || (d >= 0x30 && d <= 0x39))) break;
      }
      if (!plain || j - i > 15) {
        const literal = text.slice(i, j);
        const n = Number(literal);
        if (!Number.isFinite(n)) return { at: i, message: `the number ${literal} is beyond the range of a double` };
        if (Number.isInteger(n) && !Number.isSafeInteger(n)) {
          return {
            at: i,
            message: `the integer ${literal} is outside ±(2^53−1) and would be rounded; send it as a string`,
          };
        }
      }
      i = j;
      continue;
    }
    i++;
  }
  return null;
}

/** The index of the quote closing the string that opens at `start`. */
function stringEnd(text: string, start: number): number {
  let end = text.indexOf('"', start + 1);
  for (;;) {
    let backslashes = 0;
    while (text.charCodeAt(end - 1 - backslashes) === 0x5c) backslashes++;
    if (backslashes % 2 === 0) return end;
    end = text.indexOf('"', end + 1);
  }
}

/** The JSON path of the value that starts at `offset` (walked only once a problem was found). */
function pathAt(text: string, offset: number): (string | number)[] {
  const stack: ({ key: string; expectKey: boolean } | { index: number })[] = [];
  for (let i = 0; i < offset; i++) {
    const c = text[i];
    if (c === '"') {
      const end = stringEnd(text, i);
      const top = stack.at(-1);
      if (top && "key" in top && top.expectKey) {
        top.key = JSON.parse(text.slice(i, end + 1)) as string;
        top.expectKey = false;
      }
      i = end;
    } else if (c === "{") stack.push({ key: "", expectKey: true });
    else if (c === "[") stack.push({ index: 0 });
    else if (c === "}" || c === "]") stack.pop();
    else if (c === ",") {
      const top = stack.at(-1)!;
      if ("index" in top) top.index++;
      else top.expectKey = true;
    }
  }
  return stack.map((f) => ("index" in f ? f.index : f.key));
}
