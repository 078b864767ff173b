import { openStore, op } from "/work/wt/h2b-validation/src/index.js";
import { FencedStore } from "/work/wt/h2b-validation/src/langgraph/index.js";
import { mkdtempSync } from "node:fs"; import { tmpdir } from "node:os"; import { join } from "node:path";
async function t(name: string, f: () => Promise<unknown>) {
  try { const r = await f(); console.log(name, "OK", JSON.stringify(r)?.slice(0, 200)); }
  catch (e: any) { console.log(name, "ERR", e?.constructor?.name, e?.code, e?.retryable, String(e?.message).slice(0, 120)); }
}
for (const kind of ["memory", "sqlite", "postgres"]) {
  console.log("=====", kind);
  const s = kind === "memory" ? await openStore({ memory: true }) : kind === "sqlite" ? await openStore({ path: join(mkdtempSync(join(tmpdir(), "h2b-")), "s.db") }) : await openStore({ url: process.env.FENCED_PG_URL!, schema: "h2b_repro_" + Date.now() });
  await t("inc big", async () => { await s.commit({ key: "n", op: op.set(Number.MAX_SAFE_INTEGER) }); const r = await s.commit({ key: "n", op: op.increment(1) }); await s.commit({ key: "n", op: op.increment(1) }); return [r, await s.read("n")]; });
  await t("set big", () => s.commit({ key: "b", op: op.set(2 ** 53 + 2) }));
  await t("10ffff", async () => { await s.commit({ key: "p/\u{10FFFF}x", op: op.set(1) }); await s.commit({ key: "p/a", op: op.set(1) }); return [(await s.list("p/")).map(r => r.key), (await s.events("p/", { fromSeq: 1 })).length]; });
  await t("surrogate key", async () => { await s.commit({ key: "k/\uD800", op: op.set(1) }); return s.read("k/\uD800"); });
  await t("surrogate value", async () => { await s.commit({ key: "sv", op: op.set({ "a\uDC00": "x\uD800" }) }); const r = await s.read("sv"); return [r.value, JSON.stringify(r.value) === JSON.stringify({ "a\uDC00": "x\uD800" })]; });
  await t("events 2.5", () => s.events("", { limit: 2.5 }));
  await t("events -1", async () => (await s.events("", { limit: -1 })).length);
  await t("events null", () => s.events("", null as never));
  await t("update null", () => s.update("k", (x) => 1, null as never));
  await t("withClaim null", () => s.withClaim("k", async () => 1, null as never));
  await t("proto merge", async () => { await s.commit({ key: "pm", op: op.merge(JSON.parse('{"__proto__": {"a": 1}, "b": 2}')) }); return s.read("pm"); });
  await t("proto set", async () => { await s.commit({ key: "ps", op: op.set(JSON.parse('{"__proto__": {"a": 1}, "b": 2}')) }); return s.read("ps"); });
  await t("proto merge patch via zod record", async () => { await s.commit({ key: "pm2", op: { type: "merge", patch: JSON.parse('{"__proto__": 5}') } }); return s.read("pm2"); });
  const fs = new FencedStore(s);
  await t("fs get null", () => fs.get(null as never, "x"));
  await t("fs search null", () => fs.search(null as never));
  await t("fs put badns", () => fs.put(["a.b"], "x", { v: 1 }));
  await t("fs put emptyns", () => fs.put([], "x", { v: 1 }));
  await s.close();
}
