/**
 * The HTTP peer of the http section: a bare Fastify route doing what a hand-written service would do for the same
 * request on better-sqlite3 — read the key's row, then the raw conditional `UPDATE … WHERE key = ? AND version = ?`
 * (autocommit, one statement per write) — with none of fenced-state's checks, event log or idempotency record. Same
 * file settings as the core section's raw peer: WAL, synchronous=NORMAL, the same checkpoint interval.
 *
 *   npx tsx bench/raw-http-peer.ts --db FILE     # prints "raw peer: listening on <url>"
 */
import { parseArgs } from "node:util";
import Database from "better-sqlite3";
import Fastify from "fastify";
import { WAL_AUTOCHECKPOINT_PAGES } from "../src/backends/sqlite/backend.js";

const { values } = parseArgs({ options: { db: { type: "string" }, port: { type: "string", default: "0" } } });
if (!values.db) throw new Error("usage: raw-http-peer.ts --db FILE [--port N]");

const db = new Database(values.db);
db.pragma("journal_mode = WAL");
db.pragma("synchronous = NORMAL");
db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
db.exec(
  "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, version INTEGER NOT NULL) WITHOUT ROWID",
);
const read = db.prepare<[string], { value: string; version: number }>("SELECT value, version FROM kv WHERE key = ?");
const insert = db.prepare("INSERT INTO kv (key, value, version) VALUES (?, ?, 1) ON CONFLICT (key) DO NOTHING");
const update = db.prepare("UPDATE kv SET value = ?, version = version + 1 WHERE key = ? AND version = ?");

interface Body {
  key: string;
  op: { type: "increment"; by?: number };
}

const app = Fastify({ logger: false });
app.post<{ Body: Body }>(
  "/v1/commit",
  {
    schema: {
      body: {
        type: "object",
        required: ["key", "op"],
        properties: {
          key: { type: "string" },
          op: { type: "object", properties: { type: { const: "increment" }, by: { type: "number" } } },
        },
      },
    },
  },
  async (request, reply) => {
    const { key, op } = request.body;
    const row = read.get(key);
    if (!row) {
      if (insert.run(key, String(op.by ?? 1)).changes === 1) return { key, version: 1 };
      return reply.code(409).send({ code: "VERSION_CONFLICT" });
    }
    if (update.run(String(Number(row.value) + (op.by ?? 1)), key, row.version).changes !== 1) {
      return reply.code(409).send({ code: "VERSION_CONFLICT" });
    }
    return { key, version: row.version + 1 };
  },
);

const url = await app.listen({ host: "127.0.0.1", port: Number(values.port) });
process.stdout.write(`raw peer: listening on ${url}\n`);
const stop = () => void app.close().then(() => (db.close(), process.exit(0)));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
