/**
 * `FencedFiles`: a directory of plain files whose writes go through the one commit (docs/files.md). A file's content
 * is a record under `files/<dirId>/<path>`; the disk holds the materialized latest version, replaced atomically after
 * its commit. Bytes on disk that are no committed version are an outside edit: the next write of that file is a
 * `VERSION_CONFLICT` with `details.outsideEdit`, and `adopt` or `discard` settles it.
 *
 * Order of checks on a write: the path and options (`INVALID_INPUT`), the outside edit (only when the write expects
 * the current version: otherwise the core answers), then the core's own — idempotency (G3), the epoch (G2), the
 * version (G1).
 */
import { createHash } from "node:crypto";
import { mkdirSync, realpathSync, promises as fs } from "node:fs";
import { basename, resolve } from "node:path";
import { InvalidInputError, NotFoundError, UnavailableError, VersionConflictError } from "../core/errors.js";
import { op } from "../core/ops.js";
import type { CommitRequest, CommitResult, StateRecord } from "../core/schemas.js";
import type { StateStore } from "../core/store.js";
import type { WatchOptions } from "../core/events.js";
import { parseInput } from "../core/validate.js";
import { asFileValue, contentPatch, decodeContent, knownHashes, sha256, toBytes, type FileValue } from "./content.js";
import { diskPath, listDisk, readDisk, stageFile, type DiskFile } from "./disk.js";
import { DirIdSchema, dirPrefix, FilePathSchema } from "./paths.js";
import {
  FileAdoptRequestSchema,
  FileClaimRefSchema,
  FileClaimRequestSchema,
  FilePublishRequestSchema,
  FileReadRequestSchema,
  FileWriteOptionsSchema,
  type FileClaim,
  type FileClaimRef,
  type FileClaimRequest,
  type FileDiscardResult,
  type FileEvent,
  type FilePublishRequest,
  type FilePublishResult,
  type FileRecord,
  type FileState,
  type FileStatusEntry,
  type FileWriteOptions,
  type FileWriteResult,
} from "./schemas.js";

export interface FencedFilesOptions {
  /** The directory of plain files; created if missing. */
  dir: string;
  /**
   * Names the directory in the store (`files/<id>/…`). Default: its base name and a hash of its real path, so two
   * directories never share records by accident. Give the same id to share one directory's records across mounts.
   */
  id?: string;
}

/** Attempts to bring the disk up to the store before giving up (another writer keeps landing newer versions). */
const MATERIALIZE_ATTEMPTS = 10;

type Materialized = { state: FileState; version: number } | { state: "failed"; version: number; error: string };

/**
 * A fenced directory of plain files over a `StateStore`.
 *
 * @example
 * ```ts
 * const files = new FencedFiles(await openStore(), { dir: "./shared" });
 * const plan = await files.read("plan.md");                       // { content, version, … }
 * await files.write("plan.md", plan.content + "- step 2\n", { expectVersion: plan.version });
 * ```
 */
export class FencedFiles {
  readonly store: StateStore;
  /** The directory's real path. */
  readonly root: string;
  readonly id: string;
  /** `files/<id>/`: the key prefix of this directory's records. */
  readonly prefix: string;

  constructor(store: StateStore, options: FencedFilesOptions) {
    mkdirSync(options.dir, { recursive: true });
    this.store = store;
    this.root = realpathSync(resolve(options.dir));
    this.id = parseInput(DirIdSchema, options.id ?? defaultDirId(this.root));
    this.prefix = dirPrefix(this.id);
  }

  /** The store key of a file. */
  key(path: string): string {
    return this.prefix + filePath(path);
  }

  /**
   * The file's committed state (the store is the truth). Brings the disk up to it first when it lags, e.g. after a
   * materialization that failed; `outsideEdit` says the disk holds bytes that are no committed version.
   */
  async read(path: string): Promise<FileRecord> {
    const p = filePath(path);
    const m = await this.materialize(p);
    const record = await this.store.read(this.prefix + p);
    const value = fileValue(record);
    const base = {
      path: p,
      version: record.version,
      epoch: record.epoch,
      outsideEdit: m.state === "outside-edit" || m.state === "untracked",
    };
    if (!value) return { ...base, exists: false };
    return {
      ...base,
      exists: true,
      content: value.content,
      encoding: value.encoding,
      sha256: value.sha256,
      size: value.size,
      ...(record.updatedAt !== undefined && { updatedAt: record.updatedAt }),
    };
  }

  /** The committed bytes of a file (UTF-8 text and binary alike); `null` when it was never written. */
  async readBytes(path: string): Promise<{ bytes: Buffer; record: FileRecord } | null> {
    const record = await this.read(path);
    if (!record.exists) return null;
    return { bytes: decodeContent(record.content!, record.encoding!), record };
  }

  /**
   * Commits `content` (a string is UTF-8 text) as the file's next version, then replaces the file on disk.
   * Throws `VERSION_CONFLICT` (stale `expectVersion`, or `details.outsideEdit`), `FENCED`, `INVALID_INPUT`.
   * A write that committed but could not reach the disk resolves with `materialized: false` (see docs/files.md).
   */
  async write(path: string, content: string | Uint8Array, options: FileWriteOptions = {}): Promise<FileWriteResult> {
    const p = filePath(path);
    const o = parseInput(FileWriteOptionsSchema, options);
    const planned = await this.plan(p, toBytes(content), o, true);
    const result = await this.store.commit({ ...planned.request, ...(o.opId !== undefined && { opId: o.opId }) });
    return this.finish(p, planned.sha256, result);
  }

  /**
   * Commits several files in one transaction — all or none visible (G4) — then replaces each on disk. Every file is
   * checked for an outside edit first; one found fails the whole publish.
   */
  async publish(request: FilePublishRequest): Promise<FilePublishResult> {
    const r = parseInput(FilePublishRequestSchema, request);
    const planned = [];
    for (const f of r.files) {
      const opts = {
        ...(f.expectVersion !== undefined && { expectVersion: f.expectVersion }),
        ...(f.epoch !== undefined && { epoch: f.epoch }),
        ...(r.owner !== undefined && { owner: r.owner }),
      };
      planned.push({ path: f.path, ...(await this.plan(f.path, decodeContent(f.content, f.encoding), opts, true)) });
    }
    const txn = await this.store.txn(
      planned.map((x) => x.request),
      r.opId === undefined ? {} : { opId: r.opId },
    );
    const results: FileWriteResult[] = [];
    for (const [i, x] of planned.entries())
      results.push(await this.finish(x.path, x.sha256, { ...txn.results[i]!, replayed: txn.replayed }));
    return { results, replayed: txn.replayed };
  }

  /**
   * Commits the bytes now on disk as the file's next version (settling an outside edit), fenced and versioned like
   * any write. Without an opId, one is derived from the path, the version and the bytes, so a retried adopt replays.
   */
  async adopt(path: string, options: FileWriteOptions = {}): Promise<FileWriteResult> {
    const { path: p, opId, ...o } = parseInput(FileAdoptRequestSchema, { path, ...options });
    const disk = await readDisk(this.root, diskPath(this.root, p));
    if (!disk) throw new NotFoundError({ key: p });
    const planned = await this.plan(p, disk.bytes, o, false);
    const derived = createHash("sha256")
      .update(`${planned.request.key}\n${planned.request.expectVersion}\n${disk.sha256}`)
      .digest("hex");
    const result = await this.store.commit({ ...planned.request, opId: opId ?? `adopt:${derived.slice(0, 40)}` });
    return this.finish(p, disk.sha256, result);
  }

  /**
   * Drops an outside edit: restores the committed version on disk, or removes a file that was never committed.
   * Changes nothing in the store.
   */
  async discard(path: string): Promise<FileDiscardResult> {
    const p = filePath(path);
    const record = await this.store.read(this.prefix + p);
    if (!fileValue(record)) {
      await readDisk(this.root, diskPath(this.root, p)); // refuses a path that leaves the directory through a link
      await fs.rm(diskPath(this.root, p), { force: true });
      return { path: p, version: record.version, state: "current" };
    }
    const m = await this.materialize(p, { force: true });
    if (m.state === "failed") throw new UnavailableError({ cause: `could not restore ${p} on disk: ${m.error}` });
    return { path: p, version: m.version, state: m.state };
  }

  /** Claims a file; the returned epoch is the fencing token its writes present. `CLAIM_HELD` unless `steal`. */
  async claim(request: FileClaimRequest): Promise<FileClaim> {
    const { path, ...rest } = parseInput(FileClaimRequestSchema, request);
    const c = await this.store.claim({ ...rest, key: this.prefix + path });
    return { path, owner: c.owner, epoch: c.epoch, expiresAt: c.expiresAt };
  }

  /** Extends a live claim; `FENCED` when it was superseded, expired or released. */
  async renew(ref: FileClaimRef, ttlMs: number): Promise<FileClaim> {
    const { path, owner, epoch } = parseInput(FileClaimRefSchema, ref);
    const c = await this.store.renew({ key: this.prefix + path, owner, epoch }, ttlMs);
    return { path, owner: c.owner, epoch: c.epoch, expiresAt: c.expiresAt };
  }

  /** Releases a claim; `false` when it was no longer current. */
  release(ref: FileClaimRef): Promise<boolean> {
    const { path, owner, epoch } = parseInput(FileClaimRefSchema, ref);
    return this.store.release({ key: this.prefix + path, owner, epoch });
  }

  /** Every committed and every on-disk file with its disk state, by path. Changes nothing. */
  async status(): Promise<FileStatusEntry[]> {
    const entries = new Map<string, FileStatusEntry>();
    for (const record of await this.records()) {
      const p = record.key.slice(this.prefix.length);
      const value = fileValue(record)!;
      const disk = await readDisk(this.root, diskPath(this.root, p));
      entries.set(p, statusEntry(p, record.version, value, disk));
    }
    for (const p of await listDisk(this.root)) {
      if (entries.has(p) || FilePathSchema.safeParse(p).success === false) continue;
      const disk = await readDisk(this.root, diskPath(this.root, p));
      if (!disk) continue;
      const record = await this.store.read(this.prefix + p);
      entries.set(p, { path: p, state: "untracked", version: record.version, diskSha256: disk.sha256 });
    }
    return [...entries.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /** Brings every committed file's disk copy up to date (leaving outside edits alone); returns `status()`. */
  async sync(): Promise<FileStatusEntry[]> {
    for (const record of await this.records()) await this.materialize(record.key.slice(this.prefix.length));
    return this.status();
  }

  /** The event log of this directory's files (commits, conflicts, fences, claims) under `pathPrefix`, as they happen. */
  async *watch(pathPrefix = "", options: WatchOptions = {}): AsyncGenerator<FileEvent> {
    for await (const e of this.store.watch(this.prefix + pathPrefix, options))
      yield { ...e, path: e.key.slice(this.prefix.length) };
  }

  /**
   * Builds the commit request of a write after checking the disk for an outside edit. The disk is read before the
   * store, so the record read is at least as new as any version already on disk: a disk that lags holds one of the
   * record's recent hashes, and anything else is an outside edit.
   */
  private async plan(
    path: string,
    bytes: Buffer,
    o: { expectVersion?: number | undefined; epoch?: number | undefined; owner?: string | undefined },
    checkDisk: boolean,
  ): Promise<{ request: Omit<CommitRequest, "opId"> & { key: string; expectVersion: number }; sha256: string }> {
    const key = this.prefix + path;
    const disk = checkDisk ? await readDisk(this.root, diskPath(this.root, path)) : null;
    const record = await this.store.read(key);
    const value = fileValue(record);
    if (record.exists && !value) {
      throw new InvalidInputError({
        issues: [{ path: ["path"], message: `${key} holds a value that is not a fenced file` }],
      });
    }
    const expect = o.expectVersion ?? record.version;
    if (checkDisk && expect === record.version && disk && !(value && knownHashes(value).has(disk.sha256))) {
      throw outsideEdit(key, path, record, value, disk);
    }
    const request: Omit<CommitRequest, "opId"> & { key: string; expectVersion: number } = {
      key,
      op: op.merge(contentPatch(bytes, expect + 1)),
      expectVersion: expect,
    };
    if (o.epoch !== undefined) request.epoch = o.epoch;
    if (o.owner !== undefined) request.owner = o.owner;
    return { request, sha256: sha256(bytes) };
  }

  /** After a commit: bring the disk up to the store, and report whether it got there. The commit stands either way. */
  private async finish(path: string, hash: string, result: CommitResult): Promise<FileWriteResult> {
    const m = await this.materialize(path).catch((err: unknown) => ({
      state: "failed" as const,
      version: result.version,
      error: String(err),
    }));
    const out: FileWriteResult = {
      path,
      version: result.version,
      epoch: result.epoch,
      sha256: hash,
      seq: result.seq,
      replayed: result.replayed,
      materialized: m.state === "current",
    };
    if (m.state === "failed") out.materializeError = m.error;
    else if (m.state === "outside-edit")
      out.materializeError = "the file was edited on disk meanwhile; the edit was kept (adopt or discard it)";
    return out;
  }

  /**
   * Makes the disk hold the latest committed version of `path`. Replaces a file only when it holds a recent committed
   * version (or with `force`), checks once more just before the rename, and re-reads the store after it, so when
   * several processes materialize at once the last rename is of the latest version. I/O errors come back as
   * `{ state: "failed" }`.
   */
  private async materialize(path: string, options: { force?: boolean } = {}): Promise<Materialized> {
    const key = this.prefix + path;
    const file = diskPath(this.root, path);
    let version = 0;
    try {
      for (let i = 0; i < MATERIALIZE_ATTEMPTS; i++) {
        const record = await this.store.read(key);
        version = record.version;
        const value = fileValue(record);
        const disk = await readDisk(this.root, file);
        if (!value) return { state: disk ? "untracked" : "current", version };
        if (disk?.sha256 === value.sha256) return { state: "current", version };
        if (disk && !options.force && !knownHashes(value).has(disk.sha256)) {
          // Either an outside edit, or a newer version landed on disk after we read the store: look again.
          if ((await this.store.read(key)).version !== version) continue;
          return { state: "outside-edit", version };
        }
        const staged = await stageFile(this.root, file, decodeContent(value.content, value.encoding));
        if ((await readDisk(this.root, file))?.sha256 !== disk?.sha256) {
          await staged.abandon(); // someone changed the file meanwhile: decide again
          continue;
        }
        await staged.commit();
        if ((await this.store.read(key)).version === version) return { state: "current", version };
      }
      return { state: "stale", version };
    } catch (err) {
      return { state: "failed", version, error: err instanceof Error ? err.message : String(err) };
    }
  }

  /** Every existing file record of this directory. */
  private async records(): Promise<StateRecord[]> {
    const out: StateRecord[] = [];
    for (let after: string | undefined; ; ) {
      const page = await this.store.list({ prefix: this.prefix, limit: 1000, ...(after !== undefined && { after }) });
      out.push(...page.filter((r) => fileValue(r)));
      if (page.length < 1000) return out;
      after = page[page.length - 1]!.key;
    }
  }
}

/** `<basename>-<8 hex of the real path>`: readable in the inspector, distinct per directory. */
function defaultDirId(root: string): string {
  const name = basename(root).replace(/[/\u0000-\u001f\u007f]/g, "_") || "root";
  return `${name.slice(0, 64)}-${createHash("sha256").update(root).digest("hex").slice(0, 8)}`;
}

/** Parses a path argument; a bad one is `INVALID_INPUT` at `["path"]`. */
function filePath(path: string): string {
  return parseInput(FileReadRequestSchema, { path }).path;
}

function fileValue(record: StateRecord): FileValue | undefined {
  return record.exists ? asFileValue(record.value) : undefined;
}

function statusEntry(path: string, version: number, value: FileValue, disk: DiskFile | null): FileStatusEntry {
  const base = { path, version, committedSha256: value.sha256 };
  if (!disk) return { ...base, state: "missing" };
  const state: FileState =
    disk.sha256 === value.sha256 ? "current" : knownHashes(value).has(disk.sha256) ? "stale" : "outside-edit";
  return { ...base, state, diskSha256: disk.sha256 };
}

function outsideEdit(
  key: string,
  path: string,
  record: StateRecord,
  value: FileValue | undefined,
  disk: DiskFile,
): VersionConflictError {
  return new VersionConflictError(
    {
      key,
      expectedVersion: record.version,
      actualVersion: record.version,
      outsideEdit: true,
      path,
      diskSha256: disk.sha256,
      committedSha256: value?.sha256 ?? null,
    },
    `outside edit on "${path}": the bytes on disk (sha256 ${disk.sha256.slice(0, 12)}…) are no committed version; ` +
      `adopt or discard them before writing`,
  );
}
