#!/usr/bin/env node
/**
 * `npm run mutation`: StrykerJS over src/core (stryker.config.json), or over another target named by its config
 * (`npm run mutation -- test/mutation/stryker.langgraph.json`), printing the score table. See docs/mutation.md.
 *
 * StrykerJS 9 (the line that runs on Node 20, which fenced-state supports).
 */
import process from "node:process";

const COMMANDS = new Set(["run", "init", "--help", "-h", "--version", "-V"]);
const args = process.argv.slice(2);
const argv = [...process.argv.slice(0, 2), ...(COMMANDS.has(args[0] ?? "") ? args : ["run", ...args])];

const { StrykerCli } = await import("@stryker-mutator/core");
new StrykerCli(argv).run();
