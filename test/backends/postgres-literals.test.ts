/**
 * The literals a Postgres transaction's batch is written with (src/backends/postgres/sql.ts): `text` quotes a plain
 * string itself and leaves quotes and backslashes to node-postgres's `escapeLiteral`, so every string renders as
 * `escapeLiteral` renders it, and the server reads back exactly the string; NUL is refused (INVALID_INPUT).
 */
import fc from "fast-check";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { text } from "../../src/backends/postgres/sql.js";
import { isErrorCode } from "../../src/index.js";
import { withPgClient } from "../support/backends.js";

/** Strings rich in what a literal must escape: quotes, backslashes, `E'`, and any code point but NUL. */
const awkward = fc
  .array(fc.oneof(fc.constantFrom("'", "\\", "E'", "''", "\\'", "$$", "\n"), fc.string({ unit: "grapheme" })), {
    maxLength: 8,
  })
  .map((parts) => parts.join("").replaceAll("\u0000", ""));

describe("postgres literals", () => {
  it("renders every string as escapeLiteral does", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          awkward,
          fc.string({ unit: "binary" }).map((s) => s.replaceAll("\u0000", "")),
        ),
        (s) => {
          expect(text(s)).toBe(pg.escapeLiteral(s));
        },
      ),
      { numRuns: 2000 },
    );
    expect(text("plain-id_1f1e")).toBe("'plain-id_1f1e'");
    expect(text(null)).toBe("NULL");
  });

  it("the server reads back exactly the string", async () => {
    const samples = fc.sample(awkward, 200);
    const query = samples.map((s, i) => `SELECT ${i} AS i, ${text(s)} AS v`).join(" UNION ALL ");
    const { rows } = await withPgClient((c) => c.query<{ i: number; v: string }>(query));
    expect(rows.sort((a, b) => a.i - b.i).map((r) => r.v)).toEqual(samples);
  });

  it("refuses NUL, with or without characters that need escaping", () => {
    for (const s of ["\u0000", "a\u0000b", "'\u0000", "\\\u0000"]) {
      let caught: unknown;
      try {
        text(s);
      } catch (err) {
        caught = err;
      }
      expect(isErrorCode(caught, "INVALID_INPUT")).toBe(true);
    }
  });
});
