/**
 * `fenced-state/files`: fenced plain files. Writes go through the one commit; the disk holds the latest committed
 * version, replaced atomically; an edit made behind the library's back is a typed conflict (docs/files.md).
 */
export { FencedFiles, type FencedFilesOptions } from "./files.js";
export { FilePathSchema } from "./paths.js";
export { RING_SIZE, type FileEncoding, type FileValue } from "./content.js";
export * from "./schemas.js";
