/** Fenced files on every backend: versioned writes, fencing, outside edits, atomic publish, materialization. */
import {
  existsSync,
  mkdirSync,
  promises as fsPromises,
  readFileSync,
  readdirSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { FencedError, isErrorCode, VersionConflictError, type StateStore } from "../../src/index.js";
import { FencedFiles } from "../../src/files/index.js";
import { backendFixtures, tempDir } from "../support/backends.js";

const tmp = tempDir();
afterAll(() => tmp.remove());
let n = 0;
const freshDir = () => join(tmp.dir, `d${n++}`);

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error("expected a rejection");
    },
    (err: unknown) => err,
  );
}

describe.each(backendFixtures())("fenced files on $name", (fixture) => {
  afterEach(() => fixture.cleanup());
  const open = async (): Promise<{ store: StateStore; files: FencedFiles; dir: string }> => {
    const store = await fixture.open();
    const dir = freshDir();
    return { store, files: new FencedFiles(store, { dir }), dir };
  };

  it("reads what it wrote, with a version, and the disk holds the committed bytes (G1)", async () => {
    const { files, dir } = await open();
    expect(await files.read("plan.md")).toMatchObject({ exists: false, version: 0, outsideEdit: false });
    const w = await files.write("plans/plan.md", "# plan\n", { expectVersion: 0 });
    expect(w).toMatchObject({ path: "plans/plan.md", version: 1, replayed: false, materialized: true });
    expect(readFileSync(join(dir, "plans/plan.md"), "utf8")).toBe("# plan\n");
    const r = await files.read("./plans//plan.md");
    expect(r).toMatchObject({
      exists: true,
      version: 1,
      content: "# plan\n",
      encoding: "utf8",
      sha256: w.sha256,
      outsideEdit: false,
    });
  });

  it("gives a stale writer a VERSION_CONFLICT and leaves file and record as the winner wrote them (G1)", async () => {
    const { files, dir } = await open();
    await files.write("plan.md", "v1\n", { expectVersion: 0 });
    await files.write("plan.md", "v2 by A\n", { expectVersion: 1 });
    const err = await rejection(files.write("plan.md", "v2 by B\n", { expectVersion: 1 }));
    expect(err).toBeInstanceOf(VersionConflictError);
    expect((err as VersionConflictError).details).toMatchObject({ expectedVersion: 1, actualVersion: 2 });
    expect((err as VersionConflictError).details.outsideEdit).toBeUndefined();
    expect(readFileSync(join(dir, "plan.md"), "utf8")).toBe("v2 by A\n");
    expect((await files.read("plan.md")).content).toBe("v2 by A\n");
  });

  it("fences a zombie whose claim was taken over, even when the version did not move (G2)", async () => {
    const { files, dir } = await open();
    await files.write("plan.md", "v1\n", { expectVersion: 0 });
    const zombie = await files.claim({ path: "plan.md", owner: "a", ttlMs: 60_000 });
    const taker = await files.claim({ path: "plan.md", owner: "b", ttlMs: 60_000, steal: true });
    const err = await rejection(files.write("plan.md", "zombie\n", { expectVersion: 1, epoch: zombie.epoch }));
    expect(err).toBeInstanceOf(FencedError);
    expect((err as FencedError).details).toMatchObject({
      reason: "superseded",
      heldEpoch: zombie.epoch,
      currentEpoch: taker.epoch,
    });
    // Without an epoch while a claim is live: fenced too — there is no bypass.
    expect(isErrorCode(await rejection(files.write("plan.md", "x\n", { expectVersion: 1 })), "FENCED")).toBe(true);
    expect(readFileSync(join(dir, "plan.md"), "utf8")).toBe("v1\n");
    await files.write("plan.md", "by b\n", { expectVersion: 1, epoch: taker.epoch });
    expect(await files.release({ path: "plan.md", owner: "b", epoch: taker.epoch })).toBe(true);
    expect(readFileSync(join(dir, "plan.md"), "utf8")).toBe("by b\n");
  });

  it("detects an outside edit, never overwrites it, and names the file in a typed conflict", async () => {
    const { files, dir } = await open();
    await files.write("plan.md", "v1\n", { expectVersion: 0 });
    writeFileSync(join(dir, "plan.md"), "edited by hand\n");
    const err = await rejection(files.write("plan.md", "v2\n", { expectVersion: 1 }));
    expect(err).toBeInstanceOf(VersionConflictError);
    expect((err as VersionConflictError).details).toMatchObject({
      outsideEdit: true,
      path: "plan.md",
      expectedVersion: 1,
      actualVersion: 1,
    });
    expect((err as VersionConflictError).toJSON().error.details.outsideEdit).toBe(true);
    expect(readFileSync(join(dir, "plan.md"), "utf8")).toBe("edited by hand\n");
    expect(await files.read("plan.md")).toMatchObject({ version: 1, content: "v1\n", outsideEdit: true });
    expect(readFileSync(join(dir, "plan.md"), "utf8")).toBe("edited by hand\n"); // a read does not overwrite it either
    expect(await files.status()).toEqual([
      expect.objectContaining({ path: "plan.md", state: "outside-edit", version: 1 }),
    ]);
  });

  it("treats a file created behind the library's back as an outside edit of version 0", async () => {
    const { files, dir } = await open();
    writeFileSync(join(dir, "new.md"), "mine\n");
    const err = await rejection(files.write("new.md", "theirs\n", { expectVersion: 0 }));
    expect((err as VersionConflictError).details).toMatchObject({
      outsideEdit: true,
      path: "new.md",
      committedSha256: null,
    });
    expect(await files.status()).toEqual([expect.objectContaining({ path: "new.md", state: "untracked" })]);
  });

  it("adopts an outside edit as a new version, fenced and versioned like any write", async () => {
    const { files, dir } = await open();
    await files.write("plan.md", "v1\n", { expectVersion: 0 });
    const claim = await files.claim({ path: "plan.md", owner: "a", ttlMs: 60_000 });
    writeFileSync(join(dir, "plan.md"), "edited by hand\n");
    expect(isErrorCode(await rejection(files.adopt("plan.md")), "FENCED")).toBe(true);
    expect(
      isErrorCode(
        await rejection(files.adopt("plan.md", { expectVersion: 0, epoch: claim.epoch })),
        "VERSION_CONFLICT",
      ),
    ).toBe(true);
    const a = await files.adopt("plan.md", { epoch: claim.epoch });
    expect(a).toMatchObject({ version: 2, materialized: true, replayed: false });
    expect(await files.read("plan.md")).toMatchObject({ version: 2, content: "edited by hand\n", outsideEdit: false });
    await files.write("plan.md", "v3\n", { expectVersion: 2, epoch: claim.epoch });
    expect(readFileSync(join(dir, "plan.md"), "utf8")).toBe("v3\n");
  });

  it("replays a retried adopt with the same expectVersion instead of committing the bytes twice (G3)", async () => {
    const { files, dir } = await open();
    await files.write("plan.md", "v1\n", { expectVersion: 0 });
    writeFileSync(join(dir, "plan.md"), "hand\n");
    const first = await files.adopt("plan.md", { expectVersion: 1 });
    const again = await files.adopt("plan.md", { expectVersion: 1 });
    expect(again).toMatchObject({ version: first.version, replayed: true });
    expect((await files.read("plan.md")).version).toBe(2);
  });

  it("discards an outside edit by restoring the committed version, and removes an untracked file", async () => {
    const { files, dir } = await open();
    await files.write("plan.md", "v1\n", { expectVersion: 0 });
    writeFileSync(join(dir, "plan.md"), "hand\n");
    writeFileSync(join(dir, "stray.md"), "stray\n");
    expect(await files.discard("plan.md")).toMatchObject({ version: 1, state: "current" });
    expect(await files.discard("stray.md")).toMatchObject({ version: 0 });
    expect(readFileSync(join(dir, "plan.md"), "utf8")).toBe("v1\n");
    expect(existsSync(join(dir, "stray.md"))).toBe(false);
    await files.write("plan.md", "v2\n", { expectVersion: 1 });
    expect(await files.status()).toEqual([expect.objectContaining({ path: "plan.md", state: "current", version: 2 })]);
  });

  it("replays a retried write with the same opId, and refuses an opId without expectVersion (G3)", async () => {
    const { files } = await open();
    const first = await files.write("plan.md", "v1\n", { expectVersion: 0, opId: "op-1" });
    const again = await files.write("plan.md", "v1\n", { expectVersion: 0, opId: "op-1" });
    expect(again).toMatchObject({ version: 1, seq: first.seq, replayed: true });
    await files.write("plan.md", "v2\n", { expectVersion: 1 });
    expect(await files.write("plan.md", "v1\n", { expectVersion: 0, opId: "op-1" })).toMatchObject({
      version: 1,
      replayed: true,
    });
    expect(isErrorCode(await rejection(files.write("plan.md", "x", { opId: "op-2" })), "INVALID_INPUT")).toBe(true);
    expect((await files.read("plan.md")).content).toBe("v2\n");
  });

  it("publishes several files all or none: one conflict or outside edit leaves every file as it was (G4)", async () => {
    const { files, dir } = await open();
    await files.write("a.md", "a1\n", { expectVersion: 0 });
    const stale = await rejection(
      files.publish({
        files: [
          { path: "b.md", content: "b1\n", expectVersion: 0 },
          { path: "a.md", content: "a2\n", expectVersion: 0 },
        ],
      }),
    );
    expect(isErrorCode(stale, "VERSION_CONFLICT")).toBe(true);
    expect(existsSync(join(dir, "b.md"))).toBe(false);
    expect((await files.read("b.md")).exists).toBe(false);
    writeFileSync(join(dir, "a.md"), "hand\n");
    const edited = await rejection(
      files.publish({
        files: [
          { path: "b.md", content: "b1\n", expectVersion: 0 },
          { path: "a.md", content: "a2\n", expectVersion: 1 },
        ],
      }),
    );
    expect((edited as VersionConflictError).details).toMatchObject({ outsideEdit: true, path: "a.md" });
    expect((await files.read("b.md")).exists).toBe(false);
    await files.discard("a.md");
    const ok = await files.publish({
      files: [
        { path: "b.md", content: "b1\n", expectVersion: 0 },
        { path: "a.md", content: Buffer.from("a2\n").toString("base64"), encoding: "base64", expectVersion: 1 },
      ],
      opId: "pub-1",
    });
    expect(ok.results.map((r) => [r.path, r.version, r.materialized])).toEqual([
      ["b.md", 1, true],
      ["a.md", 2, true],
    ]);
    expect(new Set(ok.results.map((r) => r.seq)).size).toBe(2);
    expect(readFileSync(join(dir, "a.md"), "utf8")).toBe("a2\n");
    expect(readFileSync(join(dir, "b.md"), "utf8")).toBe("b1\n");
  });

  it("keeps binary content byte for byte (base64 in the record)", async () => {
    const { files, dir } = await open();
    const bytes = Buffer.from([0, 255, 254, 10, 0, 195, 40]);
    await files.write("blob.bin", bytes, { expectVersion: 0 });
    expect(readFileSync(join(dir, "blob.bin")).equals(bytes)).toBe(true);
    const got = await files.readBytes("blob.bin");
    expect(got?.record.encoding).toBe("base64");
    expect(got?.bytes.equals(bytes)).toBe(true);
  });

  it("rejects bad paths with INVALID_INPUT and writes nothing", async () => {
    const { store, files, dir } = await open();
    for (const bad of [
      "",
      "/etc/passwd",
      "../escape",
      "a/../../b",
      "a\u0000b",
      "dir/",
      "a\\b",
      ".fenced/state.db",
      "C:/x",
      "a/\u0007",
    ]) {
      const err = await rejection(files.write(bad, "x", { expectVersion: 0 }));
      expect(isErrorCode(err, "INVALID_INPUT"), JSON.stringify(bad)).toBe(true);
      expect(isErrorCode(await rejection(files.read(bad)), "INVALID_INPUT")).toBe(true);
      expect(isErrorCode(await rejection(files.claim({ path: bad, owner: "a", ttlMs: 1000 })), "INVALID_INPUT")).toBe(
        true,
      );
    }
    expect(await store.list(files.prefix)).toEqual([]);
    expect(readdirSync(dir)).toEqual([]);
    expect(await store.events(files.prefix)).toEqual([]);
  });

  it("never reads or writes outside the directory through a symbolic link (INVALID_INPUT, nothing committed)", async () => {
    const { store, files, dir } = await open();
    const outside = freshDir();
    mkdirSync(outside);
    writeFileSync(join(outside, "secret.md"), "secret\n");
    symlinkSync(outside, join(dir, "linked"));
    symlinkSync(join(outside, "secret.md"), join(dir, "secret.md"));
    for (const attempt of [
      () => files.write("linked/x.md", "x\n", { expectVersion: 0 }),
      () => files.write("linked/secret.md", "x\n", { expectVersion: 0 }),
      () => files.adopt("secret.md"),
      () => files.adopt("linked/secret.md"),
      () => files.discard("linked/secret.md"),
    ]) {
      expect(isErrorCode(await rejection(attempt()), "INVALID_INPUT")).toBe(true);
    }
    expect(await store.list(files.prefix)).toEqual([]);
    expect(readdirSync(outside)).toEqual(["secret.md"]);
    expect(readFileSync(join(outside, "secret.md"), "utf8")).toBe("secret\n");
    // A record written elsewhere is not materialized through the link either.
    const elsewhere = new FencedFiles(store, { dir: freshDir(), id: files.id });
    await elsewhere.write("linked/y.md", "y\n", { expectVersion: 0 });
    expect((await files.read("linked/y.md")).version).toBe(1);
    expect(readdirSync(outside)).toEqual(["secret.md"]);
  });

  it("keeps the commit when the disk cannot be written, and the next read or sync puts the version on disk", async () => {
    const { files, dir } = await open();
    await files.write("plans/plan.md", "v1\n", { expectVersion: 0 });
    // The rename after the commit fails (a full disk, a read-only mount): the commit stands, the disk keeps v1.
    const rename = vi
      .spyOn(fsPromises, "rename")
      .mockRejectedValueOnce(Object.assign(new Error("ENOSPC: no space left on device"), { code: "ENOSPC" }));
    try {
      const w = await files.write("plans/plan.md", "v2\n", { expectVersion: 1 });
      expect(w).toMatchObject({ version: 2, materialized: false });
      expect(w.materializeError).toMatch(/ENOSPC/);
    } finally {
      rename.mockRestore();
    }
    expect(readFileSync(join(dir, "plans/plan.md"), "utf8")).toBe("v1\n");
    expect(readdirSync(join(dir, "plans"))).toEqual(["plan.md"]); // no temp file left behind
    expect(await files.status()).toEqual([
      expect.objectContaining({ path: "plans/plan.md", state: "stale", version: 2 }),
    ]);
    // v1 on disk is a committed version, not an outside edit: the next read restores v2 and the next write goes through.
    expect(await files.read("plans/plan.md")).toMatchObject({ version: 2, outsideEdit: false });
    expect(readFileSync(join(dir, "plans/plan.md"), "utf8")).toBe("v2\n");
    await files.write("plans/plan.md", "v3\n", { expectVersion: 2 });
    expect(readFileSync(join(dir, "plans/plan.md"), "utf8")).toBe("v3\n");
  });

  it("re-materializes a deleted or lagging file on sync, leaving outside edits alone", async () => {
    const { store, files, dir } = await open();
    await files.write("a.md", "a1\n", { expectVersion: 0 });
    await files.write("b.md", "b1\n", { expectVersion: 0 });
    const other = new FencedFiles(store, { dir: freshDir(), id: files.id }); // another host's copy of the same dir
    await other.write("a.md", "a2\n", { expectVersion: 1 });
    writeFileSync(join(dir, "b.md"), "hand\n");
    expect((await files.status()).map((s) => [s.path, s.state])).toEqual([
      ["a.md", "stale"],
      ["b.md", "outside-edit"],
    ]);
    expect((await files.sync()).map((s) => [s.path, s.state])).toEqual([
      ["a.md", "current"],
      ["b.md", "outside-edit"],
    ]);
    expect(readFileSync(join(dir, "a.md"), "utf8")).toBe("a2\n");
    expect(readFileSync(join(dir, "b.md"), "utf8")).toBe("hand\n");
  });

  it("lets concurrent writers on one directory lose no line and never mistake each other's lag for an outside edit", async () => {
    const { store, dir } = await open();
    const writers = Array.from({ length: 4 }, () => new FencedFiles(store, { dir }));
    const outsideEdits: unknown[] = [];
    await Promise.all(
      writers.map(async (files, w) => {
        for (let i = 0; i < 5; i++) {
          for (;;) {
            const r = await files.read("plan.md");
            try {
              await files.write("plan.md", `${r.content ?? ""}w${w}-${i}\n`, { expectVersion: r.version });
              break;
            } catch (err) {
              if (!isErrorCode(err, "VERSION_CONFLICT")) throw err;
              if (err.details.outsideEdit) return void outsideEdits.push(err.details); // a false alarm: stop this writer
            }
          }
        }
      }),
    );
    expect(outsideEdits).toEqual([]);
    const final = await writers[0]!.read("plan.md");
    expect(final.version).toBe(20);
    expect(final.content!.trim().split("\n").sort()).toEqual(
      Array.from({ length: 4 }, (_, w) => Array.from({ length: 5 }, (_, i) => `w${w}-${i}`))
        .flat()
        .sort(),
    );
    expect(readFileSync(join(dir, "plan.md"), "utf8")).toBe(final.content);
  });

  it("watches the directory's events by path", async () => {
    const { files } = await open();
    const ac = new AbortController();
    const seen: string[] = [];
    const done = (async () => {
      for await (const e of files.watch("", { fromSeq: 1, signal: ac.signal, pollMs: 10 })) {
        seen.push(`${e.path} ${e.outcome} v${e.version}`);
        if (seen.length === 3) ac.abort();
      }
    })();
    await files.write("plan.md", "v1\n", { expectVersion: 0 });
    await rejection(files.write("plan.md", "late\n", { expectVersion: 0 }));
    await files.write("plan.md", "v2\n", { expectVersion: 1 });
    await done;
    expect(seen).toEqual(["plan.md committed v1", "plan.md conflict v1", "plan.md committed v2"]);
  });
});
