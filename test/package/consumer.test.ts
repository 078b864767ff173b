/**
 * The package as a new user gets it: `npm pack`, then a fresh project outside this repository that runs exactly the
 * README's install lines, type-checks strict consumers against the published types (NodeNext, skipLibCheck off),
 * runs them, and runs `fenced demo`, `fenced serve` and `fenced --version` from the install. Then the same from a
 * `git+file://` install, which must build dist/ through `prepare`. And the lock file must be what `npm install`
 * would write.
 */
import { spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../support/processes.js";
import { cleanEnv, gitSnapshot, lineFor, localPrebuild, ok, readmeInstallLines, run } from "./npm.js";

const PKG = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { name: string; version: string };
const FIXTURE = join(ROOT, "test", "package", "consumer");
const STEP_MS = 600_000;
const tmp = mkdtempSync(join(tmpdir(), "fenced-package-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** For running things; installs also point better-sqlite3 at the local prebuild (npm warns about that variable). */
const env = cleanEnv(undefined);
let installEnv: NodeJS.ProcessEnv;
let tarball: string;
let lines: string[][];
/** The git install runs while the tarball's tests do: it is the slowest step (npm installs the dev dependencies). */
let gitInstall: Promise<unknown>;
const repo = join(tmp, "repo");
const gitApp = join(tmp, "git-app");

/** A fresh project in `dir`; nothing above it may hold a node_modules, or imports would resolve there, not here. */
function newProject(dir: string): string {
  for (let d = dirname(dir); d !== dirname(d); d = dirname(d)) {
    if (existsSync(join(d, "node_modules"))) throw new Error(`${d}/node_modules would leak into the consumer project`);
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Runs one README install line in `cwd`, with `fenced-state` meaning the packed tarball (or `source`). */
function install(cwd: string, line: string[], source = tarball) {
  const args = line.map((a) => (a === PKG.name ? source : a));
  return ok("npm", ["install", ...args, "--prefer-offline", "--no-audit", "--no-fund"], { cwd, env: installEnv });
}

/** Type-checks `files` in `cwd` under the fixture's strict settings, with this repository's TypeScript. */
async function typecheck(cwd: string, files: string[]) {
  for (const f of ["tsconfig.base.json", ...files]) copyFileSync(join(FIXTURE, f), join(cwd, f));
  writeFileSync(join(cwd, "tsconfig.json"), JSON.stringify({ extends: "./tsconfig.base.json", files }));
  return run(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"], {
    cwd,
    env,
  });
}

/** `fenced serve` from the install: waits for its "listening" line, asks /healthz, then SIGTERM. */
async function serveOnce(cwd: string): Promise<{ health: number; code: number | null; stderr: string }> {
  const child = spawn(join(cwd, "node_modules", ".bin", "fenced"), ["serve", "--port", "0", "--memory"], { cwd, env });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).on("line", (line) => {
      const m = /listening on (\S+)/.exec(line);
      if (m) resolve(m[1]!);
    });
    void exited.then((code) => reject(new Error(`fenced serve exited ${code} before listening: ${stderr}`)));
  });
  const health = (await fetch(`${url}/healthz`)).status;
  child.kill("SIGTERM");
  return { health, code: await exited, stderr };
}

beforeAll(async () => {
  installEnv = cleanEnv(await localPrebuild(ROOT, join(tmp, "prebuilds")));
  lines = readmeInstallLines(readFileSync(join(ROOT, "README.md"), "utf8"));
  await gitSnapshot(ROOT, repo);
  gitInstall = (async () => {
    newProject(gitApp);
    writeFileSync(
      join(gitApp, "package.json"),
      JSON.stringify({ name: "git-consumer", private: true, type: "module" }),
    );
    await install(gitApp, lineFor(lines, PKG.name), `git+file://${repo}`);
  })();
  gitInstall.catch(() => undefined); // awaited (and reported) by its own test
  const packed = await ok("npm", ["pack", "--json", "--pack-destination", tmp], { cwd: ROOT, env });
  const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf("["))) as {
    filename: string;
    files: { path: string }[];
  }[];
  tarball = join(tmp, info!.filename);
  writeFileSync(join(tmp, "files.json"), JSON.stringify(info!.files.map((f) => f.path)));
}, STEP_MS);

describe("the packed tarball", () => {
  it("holds the build, the bin, LICENSE and README, no tests, and no source map whose source is missing", () => {
    const files = JSON.parse(readFileSync(join(tmp, "files.json"), "utf8")) as string[];
    for (const f of [
      "LICENSE",
      "README.md",
      "package.json",
      "bin/fenced.js",
      "dist/src/index.js",
      "dist/src/index.d.ts",
    ]) {
      expect(files).toContain(f);
    }
    expect(files.filter((f) => f.startsWith("test/") || f.startsWith("dist/test/"))).toEqual([]);
    for (const map of files.filter((f) => f.endsWith(".map"))) {
      const { sources } = JSON.parse(readFileSync(join(ROOT, map), "utf8")) as { sources: string[] };
      for (const s of sources) expect(files, `${map} points at ${s}`).toContain(join(dirname(map), s));
    }
  });
});

describe("installed from the tarball with the README's lines", () => {
  const app = join(tmp, "app");

  it(
    "the core line alone: strict types of the core and the server entry check, and the consumer runs",
    async () => {
      newProject(app);
      writeFileSync(join(app, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
      await install(app, lineFor(lines, PKG.name));
      await ok("npm", ["install", "--save-dev", "@types/node@20", "--prefer-offline", "--no-audit", "--no-fund"], {
        cwd: app,
        env,
      });
      const tsc = await typecheck(app, ["core.ts"]);
      expect(tsc.stdout + tsc.stderr).toBe("");
      const r = await ok(process.execPath, ["out/core.js"], { cwd: app, env });
      expect(r.stdout).toBe("core ok: version 1, healthz 200\n");
    },
    STEP_MS,
  );

  it(
    "fenced --version and fenced serve work from the core line alone",
    async () => {
      const version = await ok("npx", ["--no-install", "fenced", "--version"], { cwd: app, env });
      expect(version.stdout).toBe(`${PKG.version}\n`);
      const served = await serveOnce(app);
      expect(served).toMatchObject({ health: 200, code: 0 });
    },
    STEP_MS,
  );

  it(
    "fenced demo without LangGraph: parts 1 and 2, then one line naming what part 3 needs",
    async () => {
      const r = await run("npx", ["--no-install", "fenced", "demo"], { cwd: app, env });
      expect(r.stdout).toContain("1. Lost update");
      expect(r.stdout).toContain("2. Zombie writer");
      expect(r.stdout).not.toContain("3. LangGraph");
      expect(r.stderr.trim().split("\n")).toEqual([
        expect.stringMatching(/^fenced demo: part 3 needs .*: npm install @langchain\/langgraph /),
      ]);
      expect(r.code).toBe(1);
    },
    STEP_MS,
  );

  it(
    "the LangGraph line: a strict consumer of the core, the LangGraph saver and the server checks and runs",
    async () => {
      await install(app, lineFor(lines, "@langchain/langgraph"));
      const tsc = await typecheck(app, ["core.ts", "app.ts"]);
      expect(tsc.stdout + tsc.stderr).toBe("");
      const r = await ok(process.execPath, ["out/app.js"], { cwd: app, env });
      expect(r.stdout).toBe('app ok: count 2, stale commit VERSION_CONFLICT, read over HTTP ["hello"]\n');
    },
    STEP_MS,
  );

  it(
    "the demo line: npx fenced demo prints all three parts and exits 0",
    async () => {
      await install(app, lineFor(lines, "@langchain/langgraph-checkpoint-sqlite"));
      const r = await ok("npx", ["--no-install", "fenced", "demo"], { cwd: app, env });
      expect(r.stdout).toContain("official SqliteSaver: count = 1");
      expect(r.stdout).toContain(
        "FencedCheckpointSaver + invokeWithRetry: the loser re-ran from the new head; count = 2.",
      );
      expect(r.stdout).toContain(`files in .fenced/demo/`);
    },
    STEP_MS,
  );
});

describe("installed from git", () => {
  it(
    "a checkout that was never built: fenced says to build, not a stack trace",
    async () => {
      const r = await run(process.execPath, ["bin/fenced.js", "--help"], { cwd: repo, env });
      expect(r).toMatchObject({ code: 1, stdout: "" });
      expect(r.stderr).toBe(
        "fenced: dist/ is missing (a source checkout that was not built). Run `npm install` (it builds) or `npm run build`.\n",
      );
    },
    STEP_MS,
  );

  it(
    "npm install git+file://… builds dist/ through prepare, and the package imports and runs",
    async () => {
      await gitInstall;
      const app = gitApp;
      expect(existsSync(join(app, "node_modules", PKG.name, "dist", "src", "index.d.ts"))).toBe(true);
      const r = await ok(
        process.execPath,
        [
          "--input-type=module",
          "-e",
          `import { openStore, op } from "fenced-state";
      const s = await openStore({ memory: true });
      console.log((await s.commit({ key: "k", op: op.increment(2) })).version);`,
        ],
        { cwd: app, env },
      );
      expect(r.stdout).toBe("1\n");
      expect((await ok("npx", ["--no-install", "fenced", "--version"], { cwd: app, env })).stdout).toBe(
        `${PKG.version}\n`,
      );
    },
    STEP_MS,
  );
});

describe("package-lock.json", () => {
  it(
    "is what npm install would write for package.json (npm install --package-lock-only changes nothing)",
    async () => {
      const dir = join(tmp, "lock");
      newProject(dir);
      for (const f of ["package.json", "package-lock.json"]) copyFileSync(join(ROOT, f), join(dir, f));
      await ok(
        "npm",
        ["install", "--package-lock-only", "--ignore-scripts", "--prefer-offline", "--no-audit", "--no-fund"],
        { cwd: dir, env },
      );
      expect(readFileSync(join(dir, "package-lock.json"), "utf8")).toBe(
        readFileSync(join(ROOT, "package-lock.json"), "utf8"),
      );
    },
    STEP_MS,
  );
});
