/**
 * Model-based test of fenced files (fast-check): random sequences of writes (current or stale version), outside
 * edits (new bytes, or the bytes of an older version), adopt, discard, read and sync, on two paths, against a small
 * reference model written from docs/files.md alone. After every step the outcome (result or error code, and
 * `outsideEdit`) must match the model, and so must each file's committed version and content and its bytes on disk.
 * The model's one rule for the disk: bytes that are none of the last RING_SIZE committed versions are an outside edit,
 * never overwritten by a write, a read or a sync; anything else lags and is brought up to date.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { FencedStateError, type StateStore } from "../../src/index.js";
import { FencedFiles, RING_SIZE } from "../../src/files/index.js";
import { backendFixtures, tempDir } from "../support/backends.js";

const RUNS = Number(process.env.FENCED_FILES_MODEL_RUNS ?? 60);
const PATHS = ["plan.md", "notes/decisions.md"] as const;
const CONTENTS = ["", "a\n", "b\n", "c\n", "\u00e9\n"] as const;

type Action =
  | { kind: "write"; p: number; content: string; stale: boolean }
  | { kind: "edit"; p: number; content: string }
  | { kind: "delete-on-disk"; p: number }
  | { kind: "adopt"; p: number }
  | { kind: "discard"; p: number }
  | { kind: "read"; p: number }
  | { kind: "sync" };

const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("write" as const),
      p: fc.nat(1),
      content: fc.constantFrom(...CONTENTS),
      stale: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("edit" as const),
      p: fc.nat(1),
      content: fc.constantFrom(...CONTENTS, "hand\n"),
    }),
  },
  fc.record({ kind: fc.constant("delete-on-disk" as const), p: fc.nat(1) }),
  fc.record({ kind: fc.constant("adopt" as const), p: fc.nat(1) }),
  fc.record({ kind: fc.constant("discard" as const), p: fc.nat(1) }),
  fc.record({ kind: fc.constant("read" as const), p: fc.nat(1) }),
  fc.constant({ kind: "sync" as const }),
);

/** One file in the model: its committed contents by version (index 0 is version 1) and its bytes on disk. */
interface ModelFile {
  versions: string[];
  disk: string | null;
}

function isOutsideEdit(f: ModelFile): boolean {
  if (f.disk === null) return false;
  return !f.versions.slice(-RING_SIZE).includes(f.disk);
}
/** Read, write and sync bring a lagging disk up to date; an outside edit stays. */
function settle(f: ModelFile): void {
  if (f.versions.length > 0 && !isOutsideEdit(f)) f.disk = f.versions.at(-1)!;
}

type Outcome = { ok: true; version?: number; outsideEdit?: boolean } | { code: string; outsideEdit?: boolean };

function modelStep(files: ModelFile[], a: Action): Outcome {
  if (a.kind === "sync") {
    files.forEach(settle);
    return { ok: true };
  }
  const f = files[a.p]!;
  const version = f.versions.length;
  switch (a.kind) {
    case "write":
      if (a.stale && version > 0) return { code: "VERSION_CONFLICT", outsideEdit: false };
      if (a.stale) return { code: "VERSION_CONFLICT", outsideEdit: false }; // expects version 1 of a new file
      if (isOutsideEdit(f) || (version === 0 && f.disk !== null))
        return { code: "VERSION_CONFLICT", outsideEdit: true };
      f.versions.push(a.content);
      f.disk = a.content;
      return { ok: true, version: version + 1 };
    case "edit":
      f.disk = a.content;
      return { ok: true };
    case "delete-on-disk":
      f.disk = null;
      return { ok: true };
    case "adopt":
      if (f.disk === null) return { code: "NOT_FOUND" };
      f.versions.push(f.disk);
      return { ok: true, version: version + 1 };
    case "discard":
      f.disk = version === 0 ? null : f.versions.at(-1)!;
      return { ok: true };
    case "read": {
      const outsideEdit = version === 0 ? f.disk !== null : isOutsideEdit(f);
      settle(f);
      return { ok: true, version, outsideEdit };
    }
  }
}

async function realStep(files: FencedFiles, dir: string, a: Action): Promise<Outcome> {
  try {
    if (a.kind === "sync") {
      await files.sync();
      return { ok: true };
    }
    const path = PATHS[a.p]!;
    const disk = join(dir, path);
    switch (a.kind) {
      case "write": {
        const current = (await files.store.read(files.key(path))).version;
        const r = await files.write(path, a.content, {
          expectVersion: a.stale ? (current === 0 ? 1 : current - 1) : current,
        });
        return { ok: true, version: r.version };
      }
      case "edit":
        mkdirSync(dirname(disk), { recursive: true });
        writeFileSync(disk, a.content);
        return { ok: true };
      case "delete-on-disk":
        rmSync(disk, { force: true });
        return { ok: true };
      case "adopt":
        return { ok: true, version: (await files.adopt(path)).version };
      case "discard":
        await files.discard(path);
        return { ok: true };
      case "read": {
        const r = await files.read(path);
        return { ok: true, version: r.version, outsideEdit: r.outsideEdit };
      }
    }
  } catch (err) {
    if (!(err instanceof FencedStateError)) throw err;
    const outsideEdit = (err.details as { outsideEdit?: boolean }).outsideEdit === true;
    return err.code === "VERSION_CONFLICT" ? { code: err.code, outsideEdit } : { code: err.code };
  }
}

describe.each(backendFixtures())("fenced files model on $name", (fixture) => {
  const tmp = tempDir();
  let store: StateStore;
  afterAll(async () => {
    await fixture.cleanup();
    tmp.remove();
  });
  let run = 0;

  it("matches the reference model for writes, outside edits, adopt, discard, read and sync", async () => {
    store = await fixture.open();
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 30 }), async (actions) => {
        const dir = join(tmp.dir, `run${run++}`);
        const files = new FencedFiles(store, { dir });
        const model: ModelFile[] = PATHS.map(() => ({ versions: [], disk: null }));
        for (const [i, a] of actions.entries()) {
          const expected = modelStep(model, a);
          const actual = await realStep(files, dir, a);
          expect(actual, `step ${i}: ${JSON.stringify(a)}`).toEqual(expected);
          for (const [p, path] of PATHS.entries()) {
            const m = model[p]!;
            const record = await store.read(files.key(path));
            expect(record.version, `step ${i}: version of ${path}`).toBe(m.versions.length);
            if (m.versions.length > 0) expect((record.value as { content: string }).content).toBe(m.versions.at(-1));
            const onDisk = existsSync(join(dir, path)) ? readFileSync(join(dir, path), "utf8") : null;
            expect(onDisk, `step ${i}: disk of ${path}`).toBe(m.disk);
          }
        }
      }),
      { numRuns: fixture.name === "memory" ? RUNS : Math.max(5, Math.floor(RUNS / 4)) },
    );
  }, 600_000);
});
