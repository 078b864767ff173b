/**
 * Auth as a fault: a client without the token, with a wrong one or a malformed header is refused on EVERY operation
 * the coordinator documents (the list comes from its own `/openapi.json`, so a new route is covered or this test
 * fails), and nothing is written (G6: refused, not half-done). The document says which operations need the token.
 * The real `fenced serve` reads the token from `--token-file`, refuses an empty one, and logs neither the token nor a
 * wrong one even at trace level. (test/server/auth.test.ts covers loopback-only mode, the bind refusal and the
 * redaction of custom serializers.)
 */
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openStore } from "../../src/index.js";
import { createServer } from "../../src/server/index.js";
import { tempDir } from "../support/backends.js";
import { ROOT } from "../support/processes.js";

const TOKEN = "rel-token-3f1e9d27c4b8a605";
const tmp = tempDir();
const started: ChildProcess[] = [];
afterAll(() => {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  tmp.remove();
});

/** A valid body for each POST operation: were auth skipped, each of these would write or answer 200. */
const VALID_BODIES: Record<string, object> = {
  "/v1/read": { key: "auth/a" },
  "/v1/list": { prefix: "auth/" },
  "/v1/read-many": { keys: ["auth/a"] },
  "/v1/commit": { key: "auth/a", op: { type: "set", value: "intruder" } },
  "/v1/txn": { requests: [{ key: "auth/a", op: { type: "set", value: "intruder" } }] },
  "/v1/claim": { key: "auth/a", owner: "intruder", ttlMs: 60_000, steal: true },
  "/v1/renew": { key: "auth/a", owner: "owner", epoch: 1, ttlMs: 60_000 },
  "/v1/release": { key: "auth/a", owner: "owner", epoch: 1 },
  "/v1/events": { prefix: "auth/" },
  "/v1/effects/intent": { opId: "auth-effect" },
  "/v1/effects/outcome": { opId: "auth-effect", attempt: 1, status: "done" },
  "/v1/queue/enqueue": { queue: "auth", payload: "intruder" },
  "/v1/queue/lease": { queue: "auth", owner: "intruder", visibilityMs: 60_000 },
  "/v1/queue/heartbeat": {
    lease: { queue: "auth", seq: 1, owner: "intruder", epoch: 1, version: 1 },
    visibilityMs: 60_000,
  },
  "/v1/queue/complete": { lease: { queue: "auth", seq: 1, owner: "intruder", epoch: 1, version: 1 } },
  "/v1/queue/fail": { lease: { queue: "auth", seq: 1, owner: "intruder", epoch: 1, version: 1 } },
  "/v1/queue/stats": { queue: "auth" },
};

const BAD_AUTHORIZATION = [
  undefined,
  "",
  "Bearer",
  "Bearer ",
  "Bearer wrong",
  `Bearer ${TOKEN.toUpperCase()}`,
  `Bearer ${TOKEN} extra`,
  `Bearer ${TOKEN}\u0000`,
  `Token ${TOKEN}`,
  `Basic ${Buffer.from(`user:${TOKEN}`).toString("base64")}`,
];

type Doc = { security: unknown; paths: Record<string, Record<string, { security?: unknown }>> };

describe("a token-protected coordinator", () => {
  it("refuses a missing, wrong or malformed token on every documented operation but /healthz, with 401 and no write", async () => {
    const store = await openStore({ memory: true });
    await store.claim({ key: "auth/a", owner: "owner", ttlMs: 60_000 });
    const before = {
      seq: await store.backend.lastSeq(),
      record: await store.read("auth/a"),
      claim: await store.currentClaim("auth/a"),
    };
    const server = createServer(store, { token: TOKEN, port: 0 });
    const doc = (
      await server.app.inject({ method: "GET", url: "/openapi.json", headers: { authorization: `Bearer ${TOKEN}` } })
    ).json() as Doc;

    let refused = 0;
    for (const [url, methods] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        const open = Array.isArray(operation.security) && operation.security.length === 0;
        if (open) continue;
        const payload = method === "post" ? VALID_BODIES[url] : undefined;
        if (method === "post") expect(payload, `a valid body for ${url}`).toBeDefined();
        for (const authorization of BAD_AUTHORIZATION) {
          const headers = authorization === undefined ? {} : { authorization };
          const res = await server.app.inject({
            method: method.toUpperCase() as "GET" | "POST",
            url,
            headers,
            ...(payload && { payload }),
          });
          expect([url, authorization, res.statusCode]).toEqual([url, authorization, 401]);
          expect(res.json()).toMatchObject({ error: { code: "UNAUTHORIZED", retryable: false } });
          expect(res.body).not.toContain(TOKEN);
          refused++;
        }
      }
    }
    // Every operation but /healthz was tried with every bad header.
    const operations = Object.values(doc.paths).flatMap((m) => Object.values(m)).length;
    expect(refused).toBe((operations - 1) * BAD_AUTHORIZATION.length);
    expect({
      seq: await store.backend.lastSeq(),
      record: await store.read("auth/a"),
      claim: await store.currentClaim("auth/a"),
    }).toEqual(before);

    // The right token passes on the same routes.
    const ok = await server.app.inject({
      method: "POST",
      url: "/v1/commit",
      payload: VALID_BODIES["/v1/commit"],
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(ok.statusCode).toBe(409); // FENCED: the key is claimed and the request has no epoch — auth let it through
    await server.close();
    await store.close();
  });

  it("says in /openapi.json that every operation but /healthz requires the token, and that it is optional without one", async () => {
    const store = await openStore({ memory: true });
    const withToken = createServer(store, { token: TOKEN, port: 0 });
    const loopbackOnly = createServer(store, { port: 0 });
    const doc = (
      await withToken.app.inject({ method: "GET", url: "/openapi.json", headers: { authorization: `Bearer ${TOKEN}` } })
    ).json() as Doc;
    expect(doc.security).toEqual([{ bearer: [] }]);
    expect(doc.paths["/healthz"]!.get!.security).toEqual([]);
    const open = (await loopbackOnly.app.inject({ method: "GET", url: "/openapi.json" })).json() as Doc;
    expect(open.security).toEqual([{ bearer: [] }, {}]);
    await withToken.close();
    await loopbackOnly.close();
    await store.close();
  });
});

/** `fenced serve` as a real process; resolves its URL once it listens (or its exit code if it does not). */
function serve(args: string[]) {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "src/cli/main.ts", "serve", "--port", "0", "--memory", ...args],
    { cwd: ROOT, stdio: "pipe" },
  );
  started.push(child);
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const url = new Promise<string>((resolve, reject) => {
    child.stdout.on("data", () => {
      const m = /listening on (http:\/\/\S+)/.exec(output);
      if (m) resolve(m[1]!);
    });
    void exited.then((code) => reject(new Error(`exited ${code}: ${output}`)));
  });
  url.catch(() => undefined);
  return { child, url, exited, output: () => output };
}

describe("fenced serve --token-file", () => {
  it("enforces the token from the file and logs neither it nor a wrong one, even at --log-level trace", async () => {
    const file = join(tmp.dir, "token");
    writeFileSync(file, `${TOKEN}\n`);
    const proc = serve(["--token-file", file, "--log-level", "trace"]);
    const url = await proc.url;
    const commit = (authorization?: string) =>
      fetch(`${url}/v1/commit`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(authorization && { authorization }) },
        body: JSON.stringify({ key: "cli/a", op: { type: "increment", by: 1 } }),
      });
    const wrong = "wrong-token-0f0f0f0f0f0f";
    expect((await commit()).status).toBe(401);
    expect((await commit(`Bearer ${wrong}`)).status).toBe(401);
    expect((await commit(`Bearer ${TOKEN}`)).status).toBe(200);
    proc.child.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
    expect(proc.output()).toContain("incoming request"); // trace logging was on
    expect(proc.output()).not.toContain(TOKEN);
    expect(proc.output()).not.toContain(wrong);
  });

  it("refuses to start with an empty token file instead of serving without a token", { timeout: 20_000 }, async () => {
    const file = join(tmp.dir, "empty-token");
    writeFileSync(file, "  \n");
    const proc = serve(["--token-file", file]);
    expect(await proc.exited).toBe(2);
    expect(proc.output()).toContain(`the token file ${file} is empty`);
    expect(proc.output()).not.toContain("listening");
  });
});
