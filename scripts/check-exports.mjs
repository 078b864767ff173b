// Imports every subpath of package.json "exports" from the built dist/, as a user of the package would.
import { readFileSync } from "node:fs";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
let failed = 0;
for (const subpath of Object.keys(pkg.exports)) {
  const specifier = subpath === "." ? pkg.name : `${pkg.name}/${subpath.slice(2)}`;
  try {
    const mod = await import(specifier);
    console.log(`export ${specifier}: ${Object.keys(mod).length} names`);
  } catch (err) {
    failed++;
    console.log(`export ${specifier}: FAILED ${err.message.split("\n")[0]}`);
  }
}
process.exit(failed ? 1 : 0);
