/**
 * `npm run bench`: every benchmark section side by side with its peer, in one run.
 *
 *   npm run bench                  # full size (minutes): the figures for bench/README.md
 *   npm run bench -- --quick       # CI-sized
 *   npm run bench -- --only core   # one section (repeat --only for several)
 *   npm run bench -- --json        # the JSON result on stdout instead of the tables
 *   npm run bench -- --readme      # also put the tables into bench/README.md (between its results markers)
 *
 * Writes bench/results/latest.json and bench/results/latest.md (or `--out DIR`). A progress bar goes to stderr.
 * The exit code is 1 when a section failed to run or lost an update; a missed speed target is reported, not fatal.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { loadAverage, machineInfo, machineMarkdown, type MachineInfo } from "./machine.js";
import { ProgressBar } from "./progress.js";
import { sectionMarkdown, type SectionResult } from "./report.js";
import { runSection, type Section, type Size } from "./section.js";
import { SECTIONS } from "./sections/index.js";

export interface BenchResult {
  size: Size;
  machine: MachineInfo;
  sections: SectionResult[];
  /** Sections that threw, with the error. */
  failures: { section: string; error: string }[];
}

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    tiny: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
    only: { type: "string", multiple: true },
    out: { type: "string" },
    readme: { type: "boolean", default: false },
    "no-progress": { type: "boolean", default: false },
  },
});

const size: Size = values.tiny ? "tiny" : values.quick ? "quick" : "full";
const names = SECTIONS.map((s) => s.name);
const unknown = (values.only ?? []).filter((n) => !names.includes(n));
if (unknown.length > 0) {
  process.stderr.write(`unknown section(s): ${unknown.join(", ")}; known: ${names.join(", ")}\n`);
  process.exit(2);
}
const chosen: readonly Section[] = values.only ? SECTIONS.filter((s) => values.only!.includes(s.name)) : SECTIONS;
const outDir = resolve(values.out ?? join(fileURLToPath(new URL(".", import.meta.url)), "results"));

const machine = machineInfo();
const progress = new ProgressBar(
  chosen.reduce((n, s) => n + s.steps(size), 0),
  !values["no-progress"],
);
const result: BenchResult = { size, machine, sections: [], failures: [] };
for (const section of chosen) {
  progress.status(section.name);
  try {
    result.sections.push(await runSection(section, size, progress));
  } catch (err) {
    result.failures.push({
      section: section.name,
      error: err instanceof Error ? (err.stack ?? err.message) : String(err),
    });
  }
}
machine.loadAvgEnd = loadAverage();
progress.finish();

const markdown = [
  `## fenced-state benchmarks (${size} size)`,
  "",
  machineMarkdown(machine),
  "",
  "Each ratio is subject ÷ baseline, taken round by round in the same run; shown as median (min–max) over rounds.",
  "",
  ...result.sections.map((s) => `${sectionMarkdown(s)}\n`),
  ...result.failures.map((f) => `### ${f.section}: failed to run\n\n\`\`\`\n${f.error}\n\`\`\`\n`),
].join("\n");

mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, "latest.json"), `${JSON.stringify(result, null, 2)}\n`);
writeFileSync(join(outDir, "latest.md"), `${markdown}\n`);
if (values.readme) {
  const readme = fileURLToPath(new URL("README.md", import.meta.url));
  const [start, end] = ["<!-- results:start -->", "<!-- results:end -->"];
  const text = readFileSync(readme, "utf8");
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`${readme} has no ${start} … ${end} markers`);
  writeFileSync(
    readme,
    `${text.slice(0, from + start.length)}\n${markdown.replace(/^## .*\n/, "")}\n${text.slice(to)}`,
  );
  // The project's formatter checks this file (scripts/lint.sh): leave it as the formatter would, tables aligned.
  execFileSync(
    process.execPath,
    [fileURLToPath(new URL("../node_modules/@biomejs/biome/bin/biome", import.meta.url)), "format", "--write", readme],
    { stdio: "ignore" },
  );
}
process.stdout.write(values.json ? `${JSON.stringify(result, null, 2)}\n` : `${markdown}\n`);

const lost = result.sections.some((s) => s.targets.some((t) => t.kind === "safety" && !t.met));
if (result.failures.length > 0 || lost) process.exitCode = 1;
