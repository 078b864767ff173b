/**
 * Mutation tests: each mutant removes one guarantee's check — from `src/core/commit.ts`, or from a backend (read
 * isolation, seq monotonicity) — in a scratch copy of the project, and the tests that claim to guard that guarantee
 * must then FAIL. A mutant that survives means a test suite that cannot see the bug it is there for. (The spin specs
 * have their own mutants: specs/run.sh.)
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT } from "../support/processes.js";

interface Mutant {
  id: string;
  guarantee: string;
  /** The file mutated; default src/core/commit.ts. */
  file?: string;
  /** Exact text in the file and what replaces it. The text must exist: mutants follow the code. */
  find: string;
  replace: string;
  /** More edits of the same mutant, in other files. */
  also?: { file: string; find: string; replace: string }[];
  /** The test files that must turn red. */
  tests: string[];
}

const COMMIT = "src/core/commit.ts";

const MUTANTS: Mutant[] = [
  {
    id: "version check dropped",
    guarantee: "G1",
    find: "if (versionMismatch(req.expectVersion, actualVersion)) {",
    replace: "if (false) {",
    tests: ["test/process/multiprocess.test.ts", "test/core/model.test.ts", "test/core/scheduler.test.ts"],
  },
  {
    id: "epoch check dropped",
    guarantee: "G2",
    find: "const reason = fenceReason(req.epoch, state.claim, now);",
    replace: 'const reason = undefined as ErrorDetails["FENCED"]["reason"] | undefined;',
    tests: ["test/process/zombie.test.ts", "test/core/model.test.ts", "test/core/scheduler.test.ts"],
  },
  {
    id: "no-epoch bypass allowed while a claim is live",
    guarantee: "G2",
    find: "const reason = fenceReason(req.epoch, state.claim, now);",
    replace: "const reason = req.epoch === undefined ? undefined : fenceReason(req.epoch, state.claim, now);",
    tests: ["test/core/model.test.ts"],
  },
  {
    id: "epoch guard ignored",
    guarantee: "G2",
    find: "const reason = fenceReason(guard.epoch ?? undefined, claim, now);",
    replace: 'const reason = undefined as ErrorDetails["FENCED"]["reason"] | undefined;',
    tests: ["test/core/model.test.ts", "test/core/conformance.test.ts"],
  },
  {
    id: "version guard ignored",
    guarantee: "G1",
    find: "} else if (versionMismatch(guard.version, actualVersion)) {",
    replace: "} else if (false) {",
    tests: ["test/core/model.test.ts", "test/core/conformance.test.ts"],
  },
  {
    id: "guard checked outside the transaction (before the lock, in a transaction of its own)",
    guarantee: "G2",
    find: "  const decision = await ctx.backend.transact<Decision>(async (tx) => {",
    replace:
      "  const early = guards.length === 0 ? undefined : await ctx.backend.transact<Decision | undefined>(async (tx) => {\n" +
      "    const now = ctx.now();\n" +
      "    for (const guard of guards) {\n" +
      "      const { claim } = await tx.getKeyState(guard.key);\n" +
      '      const reason = "epoch" in guard ? fenceReason(guard.epoch ?? undefined, claim, now) : undefined;\n' +
      '      if (reason) return { kind: "fenced", details: { key: guard.key, heldEpoch: guard.epoch, currentEpoch: claim?.epoch ?? 0, reason } };\n' +
      "    }\n" +
      "    return undefined;\n" +
      "  });\n" +
      '  if (early?.kind === "fenced") throw new FencedError(early.details);\n' +
      "  guards = [];\n" +
      "  const decision = await ctx.backend.transact<Decision>(async (tx) => {",
    tests: ["test/core/scheduler.test.ts"],
  },
  {
    id: "epochs counted per key (a token of one key passes on another)",
    guarantee: "G2",
    file: "src/core/claims.ts",
    find: "const epoch = await tx.nextEpoch(current?.epoch ?? 0);",
    replace: "const epoch = (current?.epoch ?? 0) + 1;",
    tests: ["test/core/model.test.ts", "test/core/conformance.test.ts"],
  },
  {
    id: "claims read the clock before holding the key",
    guarantee: "G2",
    file: "src/core/claims.ts",
    find: "  await tx.lock?.({ keys: [key], claims: true });\n  const now = ctx.now();",
    replace: "  const now = ctx.now();\n  await tx.lock?.({ keys: [key], claims: true });",
    tests: ["test/core/conformance.test.ts"],
  },
  {
    id: "opId not looked up",
    guarantee: "G3",
    find: "const first = isPending(answer) ? await answer : answer;",
    replace: "const first = undefined as unknown as IdempotencyRecord | undefined;",
    tests: ["test/core/model.test.ts", "test/core/scheduler.test.ts"],
  },
  {
    id: "txn writes before every op is decided",
    guarantee: "G4",
    find: "      writes.push({ req, valueText, version: (record?.version ?? 0) + 1, epoch: claim?.epoch ?? 0 });",
    replace:
      "      await tx.putRecord({ key: req.key, valueText, version: (record?.version ?? 0) + 1, epoch: claim?.epoch ?? 0, updatedAt: now });\n" +
      "      writes.push({ req, valueText, version: (record?.version ?? 0) + 1, epoch: claim?.epoch ?? 0 });",
    tests: ["test/core/conformance.test.ts"],
  },
  {
    id: "SQLite reads on the writer connection, inside open groups",
    guarantee: "G1",
    file: "src/backends/sqlite/backend.ts",
    find: "this.reader = openReaderConnection(file);",
    replace: "this.reader = this.writer.db; void openReaderConnection;",
    tests: ["test/core/read-isolation.test.ts"],
  },
  {
    id: "memory event seq counted from the events kept, so it restarts after a purge",
    guarantee: "G6",
    file: "src/backends/memory/backend.ts",
    find: "const seq = this.seq + events.length + 1;",
    replace: "const seq = this.events.length + events.length + 1;",
    tests: ["test/core/event-log.test.ts"],
  },
  {
    id: "SQLite event seq is the largest seq + 1 (no floor), reused once the rows are gone",
    guarantee: "G6",
    file: "src/backends/sqlite/connection.ts",
    find: 'export const LAST_SEQ = "max(coalesce((SELECT max(seq) FROM events), 0), (SELECT seq FROM event_floor))";',
    replace: 'export const LAST_SEQ = "coalesce((SELECT max(seq) FROM events), 0)";',
    tests: ["test/backends/sqlite-event-log.test.ts"],
  },
  {
    id: "queue completion not fenced by its lease (lets go of the claim, then commits on the version alone)",
    guarantee: "G2",
    file: "src/queue/queue.ts",
    find:
      "    const fence = { key, epoch };\n" +
      "    const committed = await this.store.txn(\n" +
      "      [\n" +
      "        { key, op: op.delete(), expectVersion: version, epoch: fence.epoch, owner },",
    replace:
      "    await this.store.release({ key, owner, epoch });\n" +
      "    const fence = { key, version };\n" +
      "    const committed = await this.store.txn(\n" +
      "      [\n" +
      "        { key, op: op.delete(), expectVersion: version, owner },",
    tests: ["test/queue/model.test.ts", "test/queue/queue.test.ts"],
  },
  {
    id: "queue lease ignores a failed task's backoff",
    guarantee: "queue",
    file: "src/queue/queue.ts",
    find: "if (task.visibleAt > now || task.leasedUntil > now) continue;",
    replace: "if (task.leasedUntil > now) continue;",
    tests: ["test/queue/model.test.ts", "test/queue/queue.test.ts"],
  },
];

const scratch: string[] = [];
afterAll(() =>
  scratch.forEach((d) => {
    rmSync(d, { recursive: true, force: true });
  }),
);

interface Report {
  numTotalTests: number;
  numFailedTests: number;
  testResults: { name: string; status: string }[];
}

/** Copies the project to a scratch dir, applies `mutate` to the files it names, and runs `tests` there. */
function runInCopy(tests: string[], mutate: Record<string, (source: string) => string>): Report {
  const dir = mkdtempSync(join(tmpdir(), "fenced-mutant-"));
  scratch.push(dir);
  for (const entry of ["src", "test", "package.json", "tsconfig.json", "vitest.config.ts"]) {
    cpSync(join(ROOT, entry), join(dir, entry), { recursive: true });
  }
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  for (const [path, change] of Object.entries(mutate)) {
    const file = join(dir, path);
    writeFileSync(file, change(readFileSync(file, "utf8")));
  }
  const run = spawnSync(
    process.execPath,
    [join(ROOT, "node_modules/vitest/vitest.mjs"), "run", "--reporter=json", ...tests],
    {
      cwd: dir,
      env: { ...process.env, FENCED_MODEL_RUNS: "400", CI: "true" },
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  return JSON.parse(run.stdout.slice(run.stdout.indexOf("{"))) as Report;
}

const failedFiles = (r: Report) =>
  r.testResults.filter((t) => t.status === "failed").map((t) => t.name.slice(t.name.indexOf("test/")));

/** Replaces `find` by `replace` in a file, failing the test if the text is gone (the mutant no longer follows the code). */
const edit = (id: string, path: string, find: string, replace: string) => (source: string) => {
  expect(source.includes(find), `mutant "${id}" no longer matches ${path}`).toBe(true);
  return source.replace(find, replace);
};

/** The edits of a mutant, by file. */
function edits(m: Mutant): Record<string, (source: string) => string> {
  const file = m.file ?? COMMIT;
  const main = edit(m.id, file, m.find, m.replace);
  const out: Record<string, (source: string) => string> = {
    // commit.ts mutants may need the IdempotencyRecord type imported.
    [file]:
      file !== COMMIT
        ? main
        : (source) => {
            const mutated = main(source);
            return mutated.includes("IdempotencyRecord,")
              ? mutated
              : mutated.replace("BackendTx, KeyState", "BackendTx, IdempotencyRecord, KeyState");
          },
  };
  for (const a of m.also ?? []) out[a.file] = edit(m.id, a.file, a.find, a.replace);
  return out;
}

describe("mutants are killed by the tests that guard them", () => {
  const allTests = [...new Set(MUTANTS.flatMap((m) => m.tests))];

  it(`control: the unmutated copy passes ${allTests.join(", ")}`, () => {
    const report = runInCopy(allTests, {});
    expect(report.numTotalTests).toBeGreaterThan(0);
    expect(failedFiles(report)).toEqual([]);
  }, 300_000); // every guarding file at once: minutes on a loaded machine

  for (const m of MUTANTS) {
    it(`${m.guarantee}: "${m.id}" makes each of ${m.tests.join(", ")} fail`, () => {
      const report = runInCopy(m.tests, edits(m));
      expect(report.numTotalTests).toBeGreaterThan(0);
      expect(failedFiles(report).sort(), `mutant "${m.id}" survived in some of its guarding tests`).toEqual(
        [...m.tests].sort(),
      );
    }, 300_000);
  }
});
