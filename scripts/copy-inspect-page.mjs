// tsc emits only .js from .ts: the inspector's static page (HTML, CSS, browser ES modules) is copied beside the
// compiled server, where src/inspect/page-files.ts looks for it. Part of `npm run build`.
import { cpSync } from "node:fs";

cpSync(new URL("../src/inspect/page/", import.meta.url), new URL("../dist/src/inspect/page/", import.meta.url), {
  recursive: true,
  filter: (src) => !src.endsWith(".d.ts"), // lanes.d.ts types the layout for the tests only
});
