/** Reading the documentation as the docs tests need it: its Markdown files, their code blocks and their links. */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

export interface CodeBlock {
  /** Path of the Markdown file, relative to the repository root. */
  file: string;
  /** 1-based line of the block's first code line in that file. */
  line: number;
  /** The info string after the opening fence, e.g. `ts` or `ts fragment`. */
  info: string;
  code: string;
}

/** README.md and every Markdown file under docs/, relative to `root`. */
export function docFiles(root: string): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith(".md") ? [join(dir, e.name)] : [],
    );
  return ["README.md", ...walk(join(root, "docs")).map((f) => relative(root, f))].sort();
}

/**
 * The fenced code blocks of a Markdown file (``` or ~~~, indented inside lists too). An opening fence without its
 * closing one is an error naming the file and line, not a block silently left out.
 */
export function codeBlocks(root: string, file: string): CodeBlock[] {
  const lines = readFileSync(join(root, file), "utf8").split("\n");
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^( *)(`{3,}|~{3,})\s*(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const [, indent, fence, info] = open as unknown as [string, string, string, string];
    const body: string[] = [];
    let j = i + 1;
    const closes = (l: string) => l.trim().startsWith(fence) && l.trim().replace(/[`~]/g, "") === "";
    for (; j < lines.length && !closes(lines[j]!); j++)
      body.push(lines[j]!.startsWith(indent) ? lines[j]!.slice(indent.length) : lines[j]!);
    if (j === lines.length) throw new Error(`${file}:${i + 1}: a code block opened here is never closed`);
    blocks.push({ file, line: i + 2, info: info.trim(), code: body.join("\n") });
    i = j;
  }
  return blocks;
}

/** TypeScript blocks: info string `ts` or `typescript`; a second word `fragment` marks one that is not meant to compile. */
export function isTypeScript(block: CodeBlock): boolean {
  return /^(ts|typescript)\b/.test(block.info);
}

export function isFragment(block: CodeBlock): boolean {
  return /^(ts|typescript)\s+fragment\b/.test(block.info);
}

/** Relative link targets (`[text](target)`) outside code blocks, with their line numbers. */
export function relativeLinks(root: string, file: string): { line: number; target: string }[] {
  const inCode = new Set<number>();
  for (const b of codeBlocks(root, file))
    for (let l = b.line - 1; l <= b.line + b.code.split("\n").length; l++) inCode.add(l);
  const links: { line: number; target: string }[] = [];
  readFileSync(join(root, file), "utf8")
    .split("\n")
    .forEach((text, i) => {
      if (inCode.has(i + 1)) return;
      for (const m of text.replace(/`[^`]*`/g, "").matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1]!;
        if (!/^[a-z]+:|^#/.test(target)) links.push({ line: i + 1, target: target.replace(/#.*$/, "") });
      }
    });
  return links;
}
