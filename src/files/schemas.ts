/**
 * zod schemas of the fenced-files API: the library's option checks, the HTTP routes' bodies and their OpenAPI
 * document all read them, so a rule is written once.
 */
import { z } from "zod";
import { ClaimRequestSchema, CommitRequestSchema, CommitResultSchema, StateEventSchema } from "../core/schemas.js";
import { FilePathSchema } from "./paths.js";

const { expectVersion, epoch, opId, owner } = CommitRequestSchema.shape;
const Version = CommitResultSchema.shape.version;
const Sha256 = z.string().regex(/^[0-9a-f]{64}$/);

/** `utf8` (text, the default) or `base64` (any bytes). */
export const FileEncodingSchema = z.enum(["utf8", "base64"]);

const opIdNeedsExpectVersion = {
  message: "opId needs expectVersion: a retry must send the same request, and the version is part of it",
  path: ["expectVersion"],
};

/** Preconditions of a write: the version read, the claim's epoch; an opId makes retries safe (it needs expectVersion). */
export const FileWriteOptionsSchema = z
  .object({ expectVersion, epoch, opId, owner })
  .strict()
  .refine((o) => o.opId === undefined || o.expectVersion !== undefined, opIdNeedsExpectVersion);
export type FileWriteOptions = z.input<typeof FileWriteOptionsSchema>;

/** One file of a publish: its path, content and preconditions. */
export const FilePublishEntrySchema = z
  .object({
    path: FilePathSchema,
    content: z.string(),
    encoding: FileEncodingSchema.default("utf8"),
    expectVersion,
    epoch,
  })
  .strict();

/** Several files, all or none visible; `opId` covers the whole publish. */
export const FilePublishRequestSchema = z
  .object({ files: z.array(FilePublishEntrySchema).min(1).max(1000), opId, owner })
  .strict()
  .refine((r) => new Set(r.files.map((f) => f.path)).size === r.files.length, {
    message: "each path may appear once",
    path: ["files"],
  })
  .refine((r) => r.opId === undefined || r.files.every((f) => f.expectVersion !== undefined), opIdNeedsExpectVersion);
export type FilePublishRequest = z.input<typeof FilePublishRequestSchema>;

export const FileReadRequestSchema = z.object({ path: FilePathSchema }).strict();

export const FileWriteRequestSchema = z
  .object({
    path: FilePathSchema,
    content: z.string(),
    encoding: FileEncodingSchema.default("utf8"),
    expectVersion,
    epoch,
    opId,
    owner,
  })
  .strict()
  .refine((o) => o.opId === undefined || o.expectVersion !== undefined, opIdNeedsExpectVersion);

export const FileAdoptRequestSchema = z
  .object({ path: FilePathSchema, expectVersion, epoch, opId, owner })
  .strict()
  .refine((o) => o.opId === undefined || o.expectVersion !== undefined, opIdNeedsExpectVersion);
export const FileDiscardRequestSchema = z.object({ path: FilePathSchema }).strict();
export const FileStatusRequestSchema = z.object({}).strict();

export const FileClaimRequestSchema = ClaimRequestSchema.omit({ key: true }).extend({ path: FilePathSchema }).strict();
export type FileClaimRequest = z.input<typeof FileClaimRequestSchema>;
export const FileClaimRefSchema = z.object({ path: FilePathSchema, owner: owner.unwrap(), epoch: epoch.unwrap() });
export type FileClaimRef = z.input<typeof FileClaimRefSchema>;
export const FileRenewRequestSchema = FileClaimRefSchema.extend({ ttlMs: ClaimRequestSchema.shape.ttlMs });

/** A claim on one file; `epoch` is the fencing token its writes present. */
export const FileClaimSchema = z.object({
  path: z.string(),
  owner: z.string(),
  epoch: z.number().int(),
  expiresAt: z.number().int(),
});
export type FileClaim = z.infer<typeof FileClaimSchema>;

/** A file's committed state; `content` is in `encoding` (absent when the file was never written). */
export const FileRecordSchema = z.object({
  path: z.string(),
  exists: z.boolean(),
  version: Version,
  epoch: z.number().int(),
  content: z.string().optional(),
  encoding: FileEncodingSchema.optional(),
  sha256: Sha256.optional(),
  size: z.number().int().optional(),
  updatedAt: z.number().int().optional(),
  /** The disk holds bytes that are no committed version (an outside edit): adopt or discard them. */
  outsideEdit: z.boolean(),
});
export type FileRecord = z.infer<typeof FileRecordSchema>;

/** The outcome of a write (or adopt): the commit, and whether the disk now shows it. */
export const FileWriteResultSchema = z.object({
  path: z.string(),
  version: Version,
  epoch: z.number().int(),
  sha256: Sha256,
  seq: z.number().int(),
  replayed: z.boolean(),
  /** False when the commit landed but the disk could not be updated; the next read or sync() retries (docs/files.md). */
  materialized: z.boolean(),
  materializeError: z.string().optional(),
});
export type FileWriteResult = z.infer<typeof FileWriteResultSchema>;

export const FilePublishResultSchema = z.object({ results: z.array(FileWriteResultSchema), replayed: z.boolean() });
export type FilePublishResult = z.infer<typeof FilePublishResultSchema>;

/**
 * A file's disk state against its committed version: `current`; `stale` (an older committed version, or none yet:
 * the next read or sync() replaces it); `missing` (committed, not on disk); `outside-edit` (bytes that are no
 * committed version); `untracked` (on disk, never committed: also an outside edit).
 */
export const FileStateSchema = z.enum(["current", "stale", "missing", "outside-edit", "untracked"]);
export type FileState = z.infer<typeof FileStateSchema>;

export const FileStatusEntrySchema = z.object({
  path: z.string(),
  state: FileStateSchema,
  version: Version,
  committedSha256: Sha256.optional(),
  diskSha256: Sha256.optional(),
});
export type FileStatusEntry = z.infer<typeof FileStatusEntrySchema>;
export const FileStatusSchema = z.object({ files: z.array(FileStatusEntrySchema) });

export const FileDiscardResultSchema = z.object({ path: z.string(), version: Version, state: FileStateSchema });
export type FileDiscardResult = z.infer<typeof FileDiscardResultSchema>;

/** An event-log entry of a file, with its path. */
export const FileEventSchema = StateEventSchema.extend({ path: z.string() });
export type FileEvent = z.infer<typeof FileEventSchema>;
