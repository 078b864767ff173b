import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { op, openStore } from "../src/index.js";
const store = await openStore({ path: join(mkdtempSync(join(tmpdir(), "prof-")), "s.db") });
const versions = new Array<number>(1000).fill(0);
const value = { text: "x".repeat(100), n: 0 };
const N = Number(process.argv[2] ?? 100000);
const t0 = performance.now();
for (let i = 0; i < N; i++) {
  const k = i % 1000;
  versions[k] = (await store.commit({ key: `bench/k${k}`, op: op.set({ ...value, n: i }), expectVersion: versions[k]! })).version;
}
console.log(Math.round(N / ((performance.now() - t0) / 1000)), "commits/s");
await store.close();
