/**
 * What the package test needs from npm and git: commands run with an environment stripped of the `npm_*` variables
 * an outer `npm test` sets, the README's install lines, a local prebuild of better-sqlite3, and a git snapshot of the
 * working tree.
 */
import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The environment for every command: no `npm_*` variable of an outer npm run (they would point a nested npm at this
 * repository), the npm cache kept, node-gyp given the local Node headers as in .ci/run, and better-sqlite3 pointed at
 * `prebuilds` (see {@link localPrebuild}).
 */
export function cleanEnv(prebuilds: string | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.toLowerCase().startsWith("npm_") || name.toLowerCase() === "npm_config_cache") env[name] = value;
  }
  env.npm_config_update_notifier = "false";
  if (existsSync("/usr/include/node")) env.npm_config_nodedir = "/usr";
  if (prebuilds) env.npm_config_better_sqlite3_local_prebuilds = prebuilds;
  return env;
}

/** Runs a command to its end; never throws on a non-zero exit (the caller asserts on `code`). */
export function run(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Throws with the command's output unless it exited 0. */
export async function ok(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<Ran> {
  const r = await run(command, args, options);
  if (r.code !== 0) throw new Error(`${command} ${args.join(" ")} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** The README's install lines (the `npm install …` lines of the sh block under "## Install"), comments removed. */
export function readmeInstallLines(readme: string): string[][] {
  const section = /^## Install\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1];
  if (!section) throw new Error('README.md has no "## Install" section');
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error('README.md\'s "## Install" section has no ```sh block');
  return block
    .split("\n")
    .map((line) => line.replace(/#.*$/, "").trim())
    .filter((line) => line.startsWith("npm install "))
    .map((line) => line.split(/\s+/).slice(2));
}

/** The install line that names `pkg`; throws naming it when the README has none. */
export function lineFor(lines: string[][], pkg: string): string[] {
  const line = lines.find((l) => l.includes(pkg));
  if (!line) throw new Error(`README.md's "## Install" section has no npm install line for ${pkg}`);
  return line;
}

/**
 * better-sqlite3 compiles from source on a machine GitHub's prebuilt binaries cannot reach (minutes on a shared
 * 2-core box, once per install). prebuild-install looks in `npm_config_better_sqlite3_local_prebuilds` first, so
 * this packs the binary this repository's install already built, for the same version, Node ABI and platform. A
 * different version resolves to a different file name and compiles as usual. Set FENCED_PACKAGE_TEST_COMPILE=1 to
 * compile anyway.
 */
export async function localPrebuild(root: string, dir: string): Promise<string | undefined> {
  if (process.env.FENCED_PACKAGE_TEST_COMPILE === "1") return undefined;
  const pkgDir = join(root, "node_modules", "better-sqlite3");
  const binary = join(pkgDir, "build", "Release", "better_sqlite3.node");
  if (!existsSync(binary)) return undefined;
  const { version } = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")) as { version: string };
  mkdirSync(dir, { recursive: true });
  const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  await ok("tar", ["-czf", join(dir, name), "-C", pkgDir, "build/Release/better_sqlite3.node"], {
    cwd: dir,
    env: process.env,
  });
  return dir;
}

/**
 * A one-commit git repository holding the working tree's files (tracked and untracked, minus ignored ones): what a
 * clone of this commit would hold, uncommitted edits included.
 */
export async function gitSnapshot(root: string, dest: string): Promise<void> {
  const env = cleanEnv(undefined);
  const files = (
    await ok("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: root, env })
  ).stdout
    .split("\0")
    .filter((f) => f && existsSync(join(root, f)));
  for (const f of files) {
    mkdirSync(dirname(join(dest, f)), { recursive: true });
    cpSync(join(root, f), join(dest, f));
  }
  const git = (...args: string[]) =>
    ok("git", ["-c", "user.name=test", "-c", "user.email=test@example.invalid", ...args], { cwd: dest, env });
  await git("init", "-q");
  await git("add", "-A");
  await git("commit", "-qm", "snapshot");
}
