import fc from "fast-check";
import { trickyJson, nastyJson } from "/work/wt/h2b-validation/test/support/fuzz.ts";
import { findNonJson, isJsonObject } from "/work/wt/h2b-validation/src/core/json.ts";
const arb = fc.oneof(trickyJson, nastyJson);
let ok = 0, proto = 0;
for (const v of fc.sample(arb, 3000)) { if (isJsonObject(v) && findNonJson(v) === null) { ok++; if (Object.hasOwn(v, "__proto__")) proto++; } }
console.log({ ok, proto });
