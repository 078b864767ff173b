/**
 * The disk side of a fenced directory: hash what is there, and replace a file atomically (temp file in the same
 * directory, fsync, rename, fsync the directory), so `cat`, an editor or a coding agent reads a whole version and a
 * crash leaves either the old file or the new one, never a torn one.
 */
import { randomBytes } from "node:crypto";
import { constants, type Dirent, promises as fs } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { InvalidInputError } from "../core/errors.js";
import { sha256 } from "./content.js";
import { RESERVED_PREFIX } from "./paths.js";

/** The bytes of a file on disk and their hash, or `null` when there is no file. */
export interface DiskFile {
  bytes: Buffer;
  sha256: string;
}

/**
 * Reads `file` under `root`; `null` when it does not exist. A path that leaves `root` through a symbolic link (a
 * linked directory, or the file itself a link) is `INVALID_INPUT`: a fenced directory never reads or writes outside.
 */
export async function readDisk(root: string, file: string): Promise<DiskFile | null> {
  try {
    await checkInside(root, dirname(file));
    const handle = await fs.open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      const bytes = await handle.readFile();
      return { bytes, sha256: sha256(bytes) };
    } finally {
      await handle.close();
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return null;
    if (code === "ELOOP") throw outside(root, file);
    throw err;
  }
}

/** Throws `INVALID_INPUT` when the existing directory `dir` resolves outside `root`. */
async function checkInside(root: string, dir: string): Promise<void> {
  const real = await fs.realpath(dir);
  if (real !== root && !real.startsWith(root + sep)) throw outside(root, dir);
}

function outside(root: string, at: string): InvalidInputError {
  const path = relative(root, at).split(sep).join("/");
  return new InvalidInputError({
    issues: [{ path: ["path"], message: `${path} leads outside the fenced directory through a symbolic link` }],
  });
}

/**
 * Writes `bytes` to a temp file next to `file` and fsyncs it. `commit()` renames it over `file` (and fsyncs the
 * directory); `abandon()` removes it. Split in two so the caller can look at the disk once more just before the
 * rename.
 */
export async function stageFile(
  root: string,
  file: string,
  bytes: Uint8Array,
): Promise<{ commit(): Promise<void>; abandon(): Promise<void> }> {
  const dir = dirname(file);
  await fs.mkdir(dir, { recursive: true });
  await checkInside(root, dir);
  const temp = join(dir, `${RESERVED_PREFIX}-tmp-${process.pid}-${randomBytes(6).toString("hex")}`);
  const handle = await fs.open(temp, "wx", 0o644);
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } catch (err) {
    await handle.close();
    await fs.rm(temp, { force: true });
    throw err;
  }
  await handle.close();
  return {
    async commit() {
      try {
        await fs.rename(temp, file);
      } catch (err) {
        await fs.rm(temp, { force: true });
        throw err;
      }
      await syncDir(dir);
    },
    abandon: () => fs.rm(temp, { force: true }),
  };
}

/** Makes a rename durable. Some platforms cannot open a directory for fsync; there the rename is as durable as it gets. */
async function syncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, "r").catch(() => undefined);
  if (!handle) return;
  try {
    await handle.sync().catch(() => undefined);
  } finally {
    await handle.close();
  }
}

/** Every regular file under `root`, as normalized relative paths; the library's own entries (`.fenced*`) are skipped. */
export async function listDisk(root: string, sub = ""): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await fs.readdir(join(root, sub), { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const out: string[] = [];
  for (const e of entries) {
    if (e.name.startsWith(RESERVED_PREFIX)) continue;
    const rel = sub === "" ? e.name : `${sub}/${e.name}`;
    if (e.isDirectory()) out.push(...(await listDisk(root, rel)));
    else if (e.isFile()) out.push(rel);
  }
  return out;
}

/** The absolute file for a normalized relative path. */
export function diskPath(root: string, path: string): string {
  return join(root, ...path.split("/"));
}
