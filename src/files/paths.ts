/**
 * File paths of a fenced directory and the store keys they map to. A path is relative, `/`-separated and normalized
 * (`./a//b` is `a/b`); `..`, absolute paths, NUL and other control characters are `INVALID_INPUT`, so no path can
 * name anything outside the directory.
 */
import { z } from "zod";

/** Names the library keeps to itself inside a fenced directory: temp files and the default store directory. */
export const RESERVED_PREFIX = ".fenced";

/** Why `path` is not a valid file path, or `undefined` when it is. */
export function pathProblem(path: string): string | undefined {
  if (path.length === 0) return "path must not be empty";
  if (/[\u0000-\u001f\u007f]/.test(path)) return "path must not contain NUL or other control characters";
  if (path.includes("\\")) return "path must use / as its separator (no backslash)";
  if (path.startsWith("/") || /^[A-Za-z]:/.test(path)) return "path must be relative to the fenced directory";
  const segments = path.split("/").filter((s) => s !== "" && s !== ".");
  if (segments.length === 0) return "path must name a file";
  if (segments.includes("..")) return "path must not contain '..'";
  if (segments.some((s) => s.startsWith(RESERVED_PREFIX)))
    return `path segments starting with "${RESERVED_PREFIX}" are reserved`;
  if (path.endsWith("/")) return "path must name a file, not a directory";
  return undefined;
}

/** `a//./b` → `a/b`. Call on a path `pathProblem` accepted. */
export function normalizePath(path: string): string {
  return path
    .split("/")
    .filter((s) => s !== "" && s !== ".")
    .join("/");
}

/** A file path relative to the fenced directory; parsed values are normalized. */
export const FilePathSchema = z
  .string()
  .max(4096)
  .superRefine((p, ctx) => {
    const problem = pathProblem(p);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  })
  .transform(normalizePath)
  .meta({ description: "A file path relative to the fenced directory, e.g. plans/plan.md", example: "plans/plan.md" });

/** The key prefix of one fenced directory: `files/<dirId>/`. */
export function dirPrefix(dirId: string): string {
  return `files/${dirId}/`;
}

/** A dir id is one key segment: it may not contain `/` or control characters. */
export const DirIdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[^/\u0000-\u001f\u007f]+$/, "dir id must be one key segment: no '/', no control characters");
