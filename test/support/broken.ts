/** Generated inputs broken in one place, for property tests of validators. */
import fc from "fast-check";
import { expect } from "vitest";

/** Every path to a value inside `v` (objects and arrays), the root excluded. */
function paths(v: unknown, at: (string | number)[] = []): (string | number)[][] {
  if (v === null || typeof v !== "object") return [];
  return Object.entries(v).flatMap(([k, child]) => {
    const p = [...at, Array.isArray(v) ? Number(k) : k];
    return [p, ...paths(child, p)];
  });
}

/**
 * `valid`'s values, each broken in exactly one place: the value at one of its paths replaced by one of `bad`, or a
 * stray field added (property tests of validators: every rule gets tried on its own).
 */
export function broken<T>(valid: fc.Arbitrary<T>, bad: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc.tuple(valid, fc.nat(), bad, fc.boolean()).map(([v, pick, replacement, stray]) => {
    const copy = structuredClone(v) as Record<string, unknown>;
    const all = paths(copy);
    if (stray || all.length === 0) return { ...copy, stray: replacement };
    const path = all[pick % all.length]!;
    let parent: Record<string | number, unknown> = copy;
    for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
    parent[path.at(-1)!] = replacement;
    return copy;
  });
}

/** A property body: whatever `accepts` accepts (a fast check), `schema` (the zod schema it stands in for) accepts too. */
export function noLooserThan<I>(
  accepts: (input: I) => boolean,
  schema: { safeParse(input: unknown): { success: boolean } },
): (input: unknown) => void {
  return (input) => {
    if (accepts(input as I)) expect(schema.safeParse(input).success, fc.stringify(input)).toBe(true);
  };
}
