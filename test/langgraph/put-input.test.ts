/**
 * The fast checks of `put` and `putWrites` arguments (src/langgraph/put-input.ts) never accept what their zod schemas
 * refuse, and do accept the calls LangGraph makes (else every put would pay for zod). Inputs: generated checkpoints and
 * pending writes, each broken in one place (test/support/broken.ts), and channel names that are not well-formed.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  acceptsPutInput,
  acceptsPutWritesInput,
  PutInputSchema,
  PutWritesInputSchema,
} from "../../src/langgraph/put-input.js";
import { broken, noLooserThan } from "../support/broken.js";

class Boxed {
  constructor(readonly value: unknown) {}
}

const channel = fc.oneof(fc.stringMatching(/^[a-z_:~]{1,10}$/), fc.constantFrom("ü", "名前", "branch:to:review", ""));
const version = fc.oneof(fc.nat(), fc.string({ maxLength: 6 }), fc.double({ noNaN: true, noDefaultInfinity: true }));
const versions = fc.dictionary(channel, version, { maxKeys: 4 });
const putInput = fc.record({
  checkpoint: fc.record(
    {
      v: fc.constant(4),
      id: fc.uuid(),
      ts: fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      channel_values: fc.dictionary(channel, fc.jsonValue(), { maxKeys: 4 }),
      channel_versions: versions,
      versions_seen: fc.dictionary(channel, versions, { maxKeys: 3 }),
    },
    { requiredKeys: ["v", "id", "channel_values", "channel_versions"] },
  ),
  metadata: fc.option(
    fc.record({ source: fc.constantFrom("input", "loop"), step: fc.integer(), parents: fc.constant({}) }),
    {
      nil: undefined,
    },
  ),
  newVersions: versions,
});
const putWritesInput = fc.record({
  writes: fc.array(fc.tuple(channel, fc.jsonValue()), { maxLength: 4 }),
  taskId: fc.uuid(),
  taskPath: fc.constantFrom("", "~__pregel_pull, draft", "~__pregel_push, 0"),
});
const bad = fc.constantFrom<unknown>(
  undefined,
  null,
  "",
  "\uD800",
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  10n,
  [],
  ["a"],
  ["a", 1, 2],
  new Boxed(1),
  new Map(),
  new Date(0),
  Object.create(null),
);
/** A name that is not well-formed Unicode, as a key of a version map or a write's channel. */
const lone = "\uDC00x";

describe("put and putWrites input checks", () => {
  it("never accept a put zod refuses", () => {
    fc.assert(fc.property(broken(putInput, bad), noLooserThan(acceptsPutInput, PutInputSchema)), { numRuns: 4000 });
    fc.assert(
      fc.property(putInput, fc.constantFrom("channel_versions", "newVersions", "versions_seen"), (input, where) => {
        const target =
          where === "newVersions"
            ? input.newVersions
            : where === "channel_versions"
              ? input.checkpoint.channel_versions
              : (input.checkpoint.versions_seen ??= {});
        target[lone] = where === "versions_seen" ? {} : 1;
        expect(acceptsPutInput(input)).toBe(where === "versions_seen");
        expect(PutInputSchema.safeParse(input).success).toBe(where === "versions_seen");
      }),
      { numRuns: 300 },
    );
  });

  it("never accept a version map with a symbol key (zod's record refuses it; a for-in loop does not see it)", () => {
    const base = () => ({
      checkpoint: { v: 4, id: "c", channel_values: {}, channel_versions: { a: 1 }, versions_seen: { a: { a: 1 } } },
      metadata: undefined,
      newVersions: { a: 1 } as Record<string | symbol, unknown>,
    });
    const versions = base();
    versions.newVersions[Symbol("x")] = 1;
    const seen = base();
    (seen.checkpoint.versions_seen as Record<string | symbol, unknown>)[Symbol("y")] = {};
    for (const input of [versions, seen]) {
      expect(PutInputSchema.safeParse(input).success).toBe(false);
      expect(acceptsPutInput(input)).toBe(false);
    }
    expect(acceptsPutInput(base())).toBe(true);
  });

  it("never accept pending writes zod refuses", () => {
    fc.assert(fc.property(broken(putWritesInput, bad), noLooserThan(acceptsPutWritesInput, PutWritesInputSchema)), {
      numRuns: 4000,
    });
    expect(acceptsPutWritesInput({ writes: [[lone, 1]], taskId: "t", taskPath: "" })).toBe(false);
    expect(acceptsPutWritesInput({ writes: [], taskId: "t", taskPath: lone })).toBe(false);
  });

  it("accept the calls LangGraph makes", () => {
    fc.assert(
      fc.property(putInput, (input) => {
        expect(acceptsPutInput(input)).toBe(true);
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(putWritesInput, (input) => {
        expect(acceptsPutWritesInput(input)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
