/**
 * Fenced plain files across processes: two writer processes append to one plan file, a zombie is stopped (SIGSTOP)
 * past its claim and wakes to write, and someone edits the file behind the library's back. Prints one line, counted
 * from the store's event log and the final file — not from what the workers say:
 *
 *   files: W writes, 0 lost, Z zombie writes fenced, E outside edits detected
 *
 *   npx tsx examples/fenced-files/main.ts [--steps N]
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { isErrorCode, openStore } from "../../src/index.js";
import { setTimeout as sleep } from "node:timers/promises";
import { FencedFiles } from "../../src/files/index.js";

const PLAN = "plan.md";
const ZOMBIE_TTL_MS = 1500;
const { values } = parseArgs({
  options: {
    role: { type: "string" },
    name: { type: "string" },
    db: { type: "string" },
    dir: { type: "string" },
    steps: { type: "string", default: "8" },
  },
});
const steps = Number(values.steps);

if (values.role === "writer") await writer(values.name!, values.db!, values.dir!);
else if (values.role === "zombie") await zombie(values.db!, values.dir!);
else await main();

/** Appends `steps` lines, each under a claim: claim, read, write with the epoch, release. */
async function writer(name: string, db: string, dir: string): Promise<void> {
  const store = await openStore({ path: db });
  const files = new FencedFiles(store, { dir });
  for (let i = 0; i < steps; i++) {
    for (;;) {
      const claim = await files.claim({ path: PLAN, owner: name, ttlMs: 10_000 }).catch((err: unknown) => {
        if (isErrorCode(err, "CLAIM_HELD")) return null;
        throw err;
      });
      if (!claim) {
        await sleep(10 + Math.random() * 40);
        continue;
      }
      try {
        const plan = await files.read(PLAN);
        const opId = `${name}:${i}:${plan.version}`;
        await files.write(PLAN, `${plan.content}- ${name} step ${i}\n`, {
          expectVersion: plan.version,
          epoch: claim.epoch,
          owner: name,
          opId,
        });
        break;
      } catch (err) {
        // An edit made behind our back: keep it (commit it as a version of its own), then write on top of it.
        if (isErrorCode(err, "VERSION_CONFLICT") && err.details.outsideEdit) {
          await files.adopt(PLAN, { expectVersion: err.details.actualVersion, epoch: claim.epoch, owner: name });
          continue;
        }
        throw err;
      } finally {
        await files.release({ path: PLAN, owner: name, epoch: claim.epoch });
      }
    }
  }
  await store.close();
}

/** Claims and reads, says so, then waits for "go" on stdin — the main process stops it meanwhile — and writes. */
async function zombie(db: string, dir: string): Promise<void> {
  const store = await openStore({ path: db });
  const files = new FencedFiles(store, { dir });
  const claim = await files.claim({ path: PLAN, owner: "zombie", ttlMs: ZOMBIE_TTL_MS });
  const plan = await files.read(PLAN);
  console.log("claimed");
  const stdin = createInterface({ input: process.stdin });
  await new Promise((resolve) => stdin.once("line", resolve));
  stdin.close();
  const outcome = await files
    .write(PLAN, `${plan.content}- zombie's stale rewrite\n`, {
      expectVersion: plan.version,
      epoch: claim.epoch,
      owner: "zombie",
    })
    .then(
      () => "written",
      (err: unknown) => (isErrorCode(err, "FENCED") ? "fenced" : String(err)),
    );
  console.log(outcome);
  await store.close();
}

function child(args: string[]): {
  proc: ChildProcessWithoutNullStreams;
  line(): Promise<string>;
  done: Promise<number | null>;
} {
  const proc = spawn(process.execPath, ["--import", "tsx", import.meta.filename, ...args], { stdio: "pipe" });
  proc.stderr.pipe(process.stderr);
  const lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
  const done = new Promise<number | null>((resolve) => proc.on("exit", resolve));
  return { proc, done, line: async () => (await lines.next()).value as string };
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), "fenced-files-"));
  const db = join(tmp, "state.db");
  const dir = join(tmp, "shared");
  const store = await openStore({ path: db });
  const files = new FencedFiles(store, { dir });
  try {
    await files.write(PLAN, "# plan\n", { expectVersion: 0, owner: "main" });
    const common = ["--db", db, "--dir", dir, "--steps", String(steps)];

    // A zombie claims the plan and reads it, then stops (SIGSTOP) for longer than its claim lasts.
    const z = child(["--role", "zombie", ...common]);
    await z.line();
    z.proc.kill("SIGSTOP");
    // Someone edits the file by hand meanwhile, behind the library's back.
    appendFileSync(join(dir, PLAN), "- edited by hand\n");

    // Two writer processes: they wait out the zombie's claim, then take turns; one of them meets the outside edit.
    const writers = ["alice", "bob"].map((name) => child(["--role", "writer", "--name", name, ...common]));
    const codes = await Promise.all(writers.map((w) => w.done));
    if (codes.some((c) => c !== 0)) throw new Error(`a writer failed: exit codes ${codes.join(", ")}`);

    // The zombie wakes long after its claim expired and others claimed the file: its write must be fenced.
    z.proc.kill("SIGCONT");
    z.proc.stdin.end("go\n");
    await z.line();
    await z.done;

    // Count from the event log and the final file.
    const events = await store.events(files.prefix + PLAN, { limit: 100_000 });
    const commits = events.filter((e) => e.outcome === "committed");
    const plan = await files.read(PLAN);
    const lines = new Set(plan.content!.split("\n"));
    const expected = commits.map((e) => {
      if (e.opId?.startsWith("adopt:")) return "- edited by hand";
      const [name, step] = (e.opId ?? "").split(":");
      return e.owner === "main" ? "# plan" : `- ${name} step ${step}`;
    });
    const lost =
      expected.filter((l) => !lines.has(l)).length + (plan.content!.split("\n").length - 1 - expected.length);
    const fenced = events.filter((e) => e.outcome === "fenced").length;
    const adopted = commits.filter((e) => e.opId?.startsWith("adopt:")).length;
    if (readFileSync(join(dir, PLAN), "utf8") !== plan.content)
      throw new Error("the file on disk is not the last committed version");
    console.log(
      `files: ${commits.length} writes, ${lost} lost, ${fenced} zombie writes fenced, ${adopted} outside edits detected`,
    );
    if (lost !== 0) process.exitCode = 1;
  } finally {
    await store.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}
