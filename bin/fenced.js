#!/usr/bin/env node
// The `fenced` command: runs the compiled CLI in dist/. A source checkout has no dist/ until it is built, and
// saying so beats a stack trace.
import { existsSync } from "node:fs";

const main = new URL("../dist/src/cli/main.js", import.meta.url);
if (!existsSync(main)) {
  process.stderr.write(
    "fenced: dist/ is missing (a source checkout that was not built). Run `npm install` (it builds) or `npm run build`.\n",
  );
  process.exit(1);
}
await import(main.href);
