#!/usr/bin/env node
/**
 * `npm run mutation`: StrykerJS over src/core (stryker.config.json), or over another target named by its config
 * (`npm run mutation -- test/mutation/stryker.langgraph.json`), printing the score table. See docs/mutation.md.
 *
 * StrykerJS 10 declares Node >= 22 and refuses to start on older versions, while fenced-state supports Node >= 20 and
 * its machines run Node 20. On Node 20 this script lets Stryker start anyway (by presenting a Node 22 version string
 * to Stryker's start-up check only) and says so; the runs in docs/mutation.md were made that way on Node 20.20.2.
 * On Node 22 or newer nothing is changed.
 */
import process from "node:process";

const major = Number(process.versions.node.split(".")[0]);
if (major < 22) {
  console.warn(`mutation: Node ${process.version}; StrykerJS 10 asks for >= 22, running it anyway (docs/mutation.md).`);
  Object.defineProperty(process, "version", { value: "v22.0.0", configurable: true });
}

const COMMANDS = new Set(["run", "init", "--help", "-h", "--version", "-V"]);
const args = process.argv.slice(2);
const argv = [...process.argv.slice(0, 2), ...(COMMANDS.has(args[0] ?? "") ? args : ["run", ...args])];

const { StrykerCli } = await import("@stryker-mutator/core");
new StrykerCli(argv).run();
