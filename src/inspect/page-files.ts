/**
 * The page's static files (src/inspect/page, copied next to the compiled module by `npm run build`). They are read
 * once at start: a handful of small files, served from memory, none of them built at install time.
 */
import { readdirSync, readFileSync } from "node:fs";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
};

export interface PageFile {
  type: string;
  body: Buffer;
}

/** Where the page lives beside this module, in the source tree and in dist alike. */
export const PAGE_DIR = fileURLToPath(new URL("./page/", import.meta.url));

/** Every servable file of the page directory by name; anything else in it is not served. */
export function loadPageFiles(dir = PAGE_DIR): Map<string, PageFile> {
  const files = new Map<string, PageFile>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    if (type) files.set(name, { type, body: readFileSync(join(dir, name)) });
  }
  if (!files.has("index.html"))
    throw new Error(`fenced inspect: the page is missing from ${dir} (was the package built with npm run build?)`);
  return files;
}
