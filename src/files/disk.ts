/**
 * The disk side of a fenced directory: hash what is there, and replace a file atomically (temp file in the same
 * directory, fsync, rename, fsync the directory), so `cat`, an editor or a coding agent reads a whole version and a
 * crash leaves either the old file or the new one, never a torn one.
 */
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import { dirname, join } from "node:path";
import { sha256 } from "./content.js";
import { RESERVED_PREFIX } from "./paths.js";

/** The bytes of a file on disk and their hash, or `null` when there is no file. */
export interface DiskFile {
  bytes: Buffer;
  sha256: string;
}

/** Reads `file`; `null` when it does not exist. */
export async function readDisk(file: string): Promise<DiskFile | null> {
  try {
    const bytes = await fs.readFile(file);
    return { bytes, sha256: sha256(bytes) };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

/** The hash of `file`, or `null` when it does not exist. */
export async function diskHash(file: string): Promise<string | null> {
  return (await readDisk(file))?.sha256 ?? null;
}

/**
 * Writes `bytes` to a temp file next to `file` and fsyncs it. `commit()` renames it over `file` (and fsyncs the
 * directory); `abandon()` removes it. Split in two so the caller can look at the disk once more just before the
 * rename.
 */
export async function stageFile(file: string, bytes: Uint8Array): Promise<{ commit(): Promise<void>; abandon(): Promise<void> }> {
  const dir = dirname(file);
  await fs.mkdir(dir, { recursive: true });
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
  let entries;
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
