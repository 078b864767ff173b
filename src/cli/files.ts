/**
 * `fenced files`: fenced plain files from a shell script or an agent's tool call (docs/files.md). Each call opens
 * the store, does one thing and exits with a code a script can branch on.
 */
import { parseArgs } from "node:util";
import { FencedStateError, isErrorCode } from "../core/errors.js";
import { decodeContent } from "../files/content.js";
import { FencedFiles } from "../files/files.js";
import { openStore, DEFAULT_PATH } from "../open.js";
import { STORE_ARGS, UsageError, storeChoice, type Command } from "./command.js";

/** Exit codes: distinct per outcome a caller handles differently. */
export const FILES_EXIT = {
  ok: 0,
  error: 1,
  usage: 2,
  conflict: 3,
  fenced: 4,
  claimHeld: 5,
  outsideEdit: 6,
  notFound: 7,
} as const;

const USAGE = `Usage: fenced files <action> [PATH] [options]

Plain files whose writes are versioned and fenced: one winner per write, zombies fenced, edits made behind the
library's back detected and never overwritten.

Actions:
  read PATH        print the committed content on stdout; "version N epoch E sha256 H" on stderr
  write PATH       commit stdin as the next version: --expect-version N (0 for a new file) [--epoch E] [--op-id ID]
  claim PATH       claim the file: --owner O [--ttl-ms N] [--steal]; prints the epoch (the fencing token)
  renew PATH       extend a claim: --owner O --epoch E [--ttl-ms N]
  release PATH     release a claim: --owner O --epoch E
  adopt PATH       commit the bytes on disk (an outside edit) as the next version [--expect-version N] [--epoch E]
  discard PATH     drop an outside edit: restore the committed version (remove a file never committed)
  status           every file's disk state: current, stale, missing, outside-edit, untracked
  sync             bring every committed file's disk copy up to date (outside edits stay)

Options:
  --dir DIR        the fenced directory (default .)
  --db FILE        SQLite file (default ${DEFAULT_PATH})
  --url URL        PostgreSQL (postgres://…) instead of SQLite
  --schema NAME    PostgreSQL schema (default fenced_state)
  --id ID          the directory's name in the store (default: its base name and a hash of its real path)
  --owner NAME     who writes or claims (recorded in the event log)
  --json           print the result as one JSON line on stdout (read: the record, content included)

Exit codes: 0 ok, 2 bad usage or input, 3 version conflict (re-read and retry), 4 fenced (your claim is gone: stop),
5 claim held by another owner, 6 outside edit (adopt or discard it; for status: there are some), 7 not found,
1 anything else. Errors print a message and the error's JSON body on stderr.
`;

const OPTIONS = {
  dir: { type: "string", default: "." },
  ...STORE_ARGS,
  id: { type: "string" },
  owner: { type: "string" },
  "expect-version": { type: "string" },
  epoch: { type: "string" },
  "op-id": { type: "string" },
  "ttl-ms": { type: "string", default: "30000" },
  steal: { type: "boolean", default: false },
  json: { type: "boolean", default: false },
} as const;

type Values = ReturnType<
  typeof parseArgs<{ args: string[]; options: typeof OPTIONS; allowPositionals: true }>
>["values"];

export const files: Command = {
  summary: "plain files with versioned, fenced writes: read, write, claim, adopt or discard outside edits",
  usage: USAGE,
  async run(argv) {
    let parsed: ReturnType<typeof parseArgs<{ args: string[]; options: typeof OPTIONS; allowPositionals: true }>>;
    try {
      parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
    } catch (err) {
      return usage(err instanceof Error ? err.message : String(err));
    }
    const { values, positionals } = parsed;
    const [action, path, ...extra] = positionals;
    if (!action) return usage("give an action: read, write, claim, renew, release, adopt, discard, status, sync");
    if (extra.length > 0) return usage(`unexpected arguments: ${extra.join(" ")}`);
    let choice: ReturnType<typeof storeChoice>;
    try {
      choice = storeChoice(values);
    } catch (err) {
      if (err instanceof UsageError) return usage(err.message);
      throw err;
    }
    const store = await openStore(choice.open);
    try {
      const fenced = new FencedFiles(store, { dir: values.dir, ...(values.id !== undefined && { id: values.id }) });
      return await runAction(fenced, action, path, values);
    } catch (err) {
      if (err instanceof UsageError) return usage(err.message);
      if (!(err instanceof FencedStateError)) throw err;
      process.stderr.write(`fenced files: ${err.message}\n${JSON.stringify(err.toJSON())}\n`);
      return exitCode(err);
    } finally {
      await store.close();
    }
  },
};

async function runAction(
  fenced: FencedFiles,
  action: string,
  path: string | undefined,
  values: Values,
): Promise<number> {
  const needPath = () => {
    if (path === undefined) throw new UsageError(`${action} needs a PATH`);
    return path;
  };
  const owner = () => {
    if (values.owner === undefined) throw new UsageError(`${action} needs --owner`);
    return values.owner;
  };
  const preconditions = {
    ...(values["expect-version"] !== undefined && {
      expectVersion: integer("--expect-version", values["expect-version"]),
    }),
    ...(values.epoch !== undefined && { epoch: integer("--epoch", values.epoch) }),
    ...(values["op-id"] !== undefined && { opId: values["op-id"] }),
    ...(values.owner !== undefined && { owner: values.owner }),
  };
  const ttlMs = integer("--ttl-ms", values["ttl-ms"]);
  const print = (json: unknown, text: string) => process.stdout.write(values.json ? `${JSON.stringify(json)}\n` : text);

  switch (action) {
    case "read": {
      const record = await fenced.read(needPath());
      if (values.json) print(record, "");
      else {
        if (record.exists) process.stdout.write(decodeContent(record.content!, record.encoding!));
        process.stderr.write(
          `version ${record.version} epoch ${record.epoch}${record.sha256 ? ` sha256 ${record.sha256}` : ""}\n`,
        );
      }
      if (record.outsideEdit)
        process.stderr.write(`fenced files: ${record.path} has an outside edit on disk (adopt or discard it)\n`);
      return FILES_EXIT.ok;
    }
    case "write": {
      if (preconditions.expectVersion === undefined)
        throw new UsageError("write needs --expect-version N (0 for a new file)");
      const content = await readStdin();
      const r = await fenced.write(needPath(), content, preconditions);
      print(r, `version ${r.version}\n`);
      if (!r.materialized)
        process.stderr.write(`fenced files: committed, but the disk was not updated: ${r.materializeError}\n`);
      return FILES_EXIT.ok;
    }
    case "claim": {
      const c = await fenced.claim({ path: needPath(), owner: owner(), ttlMs, ...(values.steal && { steal: true }) });
      print(c, `${c.epoch}\n`);
      return FILES_EXIT.ok;
    }
    case "renew": {
      const c = await fenced.renew(
        { path: needPath(), owner: owner(), epoch: requireEpoch(preconditions.epoch) },
        ttlMs,
      );
      print(c, `${c.epoch}\n`);
      return FILES_EXIT.ok;
    }
    case "release": {
      const released = await fenced.release({
        path: needPath(),
        owner: owner(),
        epoch: requireEpoch(preconditions.epoch),
      });
      print({ released }, `${released ? "released" : "not current"}\n`);
      return FILES_EXIT.ok;
    }
    case "adopt": {
      const r = await fenced.adopt(needPath(), preconditions);
      print(r, `version ${r.version}\n`);
      return FILES_EXIT.ok;
    }
    case "discard": {
      const r = await fenced.discard(needPath());
      print(r, `version ${r.version}\n`);
      return FILES_EXIT.ok;
    }
    case "status":
    case "sync": {
      if (path !== undefined) throw new UsageError(`${action} takes no PATH`);
      const entries = action === "sync" ? await fenced.sync() : await fenced.status();
      print({ files: entries }, entries.map((e) => `${e.state.padEnd(12)} v${e.version}\t${e.path}\n`).join(""));
      return entries.some((e) => e.state === "outside-edit" || e.state === "untracked")
        ? FILES_EXIT.outsideEdit
        : FILES_EXIT.ok;
    }
    default:
      throw new UsageError(`unknown action "${action}"`);
  }
}

function exitCode(err: FencedStateError): number {
  if (isErrorCode(err, "VERSION_CONFLICT"))
    return err.details.outsideEdit ? FILES_EXIT.outsideEdit : FILES_EXIT.conflict;
  if (isErrorCode(err, "FENCED")) return FILES_EXIT.fenced;
  if (isErrorCode(err, "CLAIM_HELD")) return FILES_EXIT.claimHeld;
  if (isErrorCode(err, "NOT_FOUND")) return FILES_EXIT.notFound;
  if (isErrorCode(err, "INVALID_INPUT") || isErrorCode(err, "PAYLOAD_TOO_LARGE")) return FILES_EXIT.usage;
  return FILES_EXIT.error;
}

function usage(message: string): number {
  process.stderr.write(`fenced files: ${message}. Run "fenced files --help".\n`);
  return FILES_EXIT.usage;
}

function integer(flag: string, text: string): number {
  const n = Number(text);
  if (text.trim() === "" || !Number.isSafeInteger(n) || n < 0)
    throw new UsageError(`${flag} must be a non-negative integer`);
  return n;
}

function requireEpoch(epoch: number | undefined): number {
  if (epoch === undefined) throw new UsageError("needs --epoch E (from claim)");
  return epoch;
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
