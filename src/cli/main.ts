#!/usr/bin/env node
/** The `fenced` CLI: `fenced <command> [options]`. */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "./command.js";

const COMMANDS: Record<string, () => Promise<Command>> = {
  demo: async () => (await import("./demo.js")).demo,
  files: async () => (await import("./files.js")).files,
  import: async () => (await import("./import.js")).importCommand,
  inspect: async () => (await import("./inspect.js")).inspect,
  mcp: async () => (await import("./mcp.js")).mcp,
  serve: async () => (await import("./serve.js")).serve,
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === "--version" || name === "-v") {
    process.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  if (!name || name === "--help" || name === "-h" || name === "help") {
    const lines = await Promise.all(
      Object.entries(COMMANDS).map(async ([n, load]) => `  ${n.padEnd(10)} ${(await load()).summary}`),
    );
    process.stdout.write(
      `Usage: fenced <command> [options]\n\nCommands:\n${lines.join("\n")}\n\n` +
        `Run "fenced <command> --help" for a command's options, "fenced --version" for the version.\n`,
    );
    return name ? 0 : 1;
  }
  const load = COMMANDS[name];
  if (!load) {
    process.stderr.write(`fenced: unknown command "${name}". Run "fenced --help".\n`);
    return 2;
  }
  const command = await load();
  if (rest.includes("--help") || rest.includes("-h")) {
    process.stdout.write(command.usage);
    return 0;
  }
  return command.run(rest);
}

/** The version in fenced-state's package.json: two levels up from src/cli, three from dist/src/cli. */
function packageVersion(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, "package.json");
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, "utf8")) as { name?: string; version?: string };
    if (pkg.name === "fenced-state" && pkg.version) return pkg.version;
  }
  return "unknown";
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`fenced: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
