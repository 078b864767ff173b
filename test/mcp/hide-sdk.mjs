// Preloaded by test/mcp/cli.test.ts: makes `@modelcontextprotocol/sdk` unresolvable, as on an install without it.
import { register } from "node:module";

register(
  "data:text/javascript," +
    encodeURIComponent(`
export async function resolve(specifier, context, next) {
  if (specifier.startsWith("@modelcontextprotocol/sdk")) {
    const err = new Error("Cannot find package '@modelcontextprotocol/sdk' imported from " + context.parentURL);
    err.code = "ERR_MODULE_NOT_FOUND";
    throw err;
  }
  return next(specifier, context);
}`),
);
