/**
 * The documentation stays true: every TypeScript block in README.md and docs/ type-checks against the source (the
 * package's import names mapped to src/ the way package.json "exports" maps them to dist/), every relative link
 * points at a file that exists, and the README's error table is the one in src/core/errors.ts.
 *
 * A block may use the names of test/docs/context/globals.ts ("your graph", "the session") without defining them. A
 * block that is deliberately partial (a node's body, names only the prose defines) is marked ```ts fragment and is
 * only checked for syntax. Failures name the Markdown file and line.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ERROR_TABLE } from "../../src/core/errors.js";
import { ROOT } from "../support/processes.js";
import { codeBlocks, docFiles, isFragment, isTypeScript, relativeLinks, type CodeBlock } from "./markdown.js";

const files = docFiles(ROOT);
const blocks = files.flatMap((f) => codeBlocks(ROOT, f)).filter(isTypeScript);
const compiled = blocks.filter((b) => !isFragment(b));
// Inside the repository, so that its package.json ("type": "module") and node_modules apply to the snippets.
const dir = join(ROOT, ".fenced-test", `doc-snippets-${process.pid}`);
const fileOf = (b: CodeBlock) => join(dir, `${b.file.replace(/[/.]/g, "_")}_L${b.line}.ts`);
let diagnostics = new Map<string, string[]>();

/** "fenced-state/x" → the source file whose build package.json exports as that subpath. */
function sourcePaths(): Record<string, string[]> {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
    name: string;
    exports: Record<string, { types: string }>;
  };
  return Object.fromEntries(
    Object.entries(pkg.exports).map(([sub, target]) => [
      sub === "." ? pkg.name : `${pkg.name}/${sub.slice(2)}`,
      [target.types.replace(/^\.\/dist\//, "").replace(/\.d\.ts$/, ".ts")],
    ]),
  );
}

beforeAll(() => {
  mkdirSync(dir, { recursive: true });
  for (const b of blocks) writeFileSync(fileOf(b), `${b.code}\nexport {};\n`);
  const config = ts.readConfigFile(join(ROOT, "tsconfig.json"), (p) => ts.sys.readFile(p));
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT);
  const context = join(ROOT, "test", "docs", "context", "globals.ts");
  const program = ts.createProgram([context, ...compiled.map(fileOf)], {
    ...options,
    noEmit: true,
    baseUrl: ROOT,
    paths: sourcePaths(),
  });
  const all = ts.getPreEmitDiagnostics(program);
  diagnostics = new Map(compiled.map((b) => [fileOf(b), [] as string[]]));
  for (const d of all) {
    const snippet = d.file && diagnostics.get(d.file.fileName);
    if (!snippet) continue;
    const b = compiled.find((c) => fileOf(c) === d.file!.fileName)!;
    const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0);
    snippet.push(`${b.file}:${b.line + line}: TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`);
  }
  // Errors outside the snippets (a broken src/ file) would hide behind them: report them too.
  const outside = all.filter((d) => !d.file || !diagnostics.has(d.file.fileName));
  if (outside.length)
    diagnostics.set(
      "(outside the snippets)",
      outside.map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n")),
    );
}, 300_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("TypeScript blocks in README.md and docs/", () => {
  it("there are blocks to check, and most of them compile (few are marked fragment)", () => {
    expect(compiled.length).toBeGreaterThan(10);
    expect(compiled.length).toBeGreaterThan(2 * (blocks.length - compiled.length));
  });

  it.each(compiled.map((b) => [`${b.file}:${b.line}`, b] as const))("%s type-checks against src/", (_, b) => {
    expect(diagnostics.get(fileOf(b))).toEqual([]);
  });

  it.each(blocks.filter(isFragment).map((b) => [`${b.file}:${b.line}`, b] as const))("%s (fragment) parses", (_, b) => {
    const parsed = ts.transpileModule(b.code, {
      reportDiagnostics: true,
      compilerOptions: { module: ts.ModuleKind.ESNext },
    });
    const errors = (parsed.diagnostics ?? []).map(
      (d) =>
        `${b.file}:${b.line + (d.file?.getLineAndCharacterOfPosition(d.start ?? 0).line ?? 0)}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`,
    );
    expect(errors).toEqual([]);
  });

  it("nothing outside the snippets fails to compile", () => {
    expect(diagnostics.get("(outside the snippets)") ?? []).toEqual([]);
  });
});

describe("links", () => {
  it.each(files)("every relative link in %s points at a file that exists", (file) => {
    const broken = relativeLinks(ROOT, file)
      .filter((l) => l.target !== "" && !existsSync(join(ROOT, dirname(file), decodeURI(l.target))))
      .map((l) => `${file}:${l.line}: ${l.target}`);
    expect(broken).toEqual([]);
  });
});

describe("README.md's error table", () => {
  it("lists every code of src/core/errors.ts with its retryable and HTTP status, and no other", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const section = /^## Errors\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1] ?? "";
    const rows = section
      .split("\n")
      .map((l) => /^\| `([A-Z_]+)` \| `\w+` \| (yes|no)\b[^|]* \| (\d{3}) \|/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1]!, { retryable: m[2] === "yes", httpStatus: Number(m[3]) }] as const);
    expect(Object.fromEntries(rows)).toEqual(ERROR_TABLE);
  });
});
