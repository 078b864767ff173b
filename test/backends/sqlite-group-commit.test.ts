/**
 * When the SQLite backend starts a group commit (`groupCommit`, docs/sqlite.md "Group commit"): at once by default, or
 * at the end of the event-loop turn (`"per-turn"`, what `fenced serve` uses), so that commits arriving in separate
 * callbacks of one turn — a server's requests — land in one COMMIT. Either way every commit lands, in order, once.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { InvalidInputError, StateStore, op, openStore } from "../../src/index.js";
import { SqliteBackend } from "../../src/backend.js";
import { tempDir } from "../support/backends.js";

const tmp = tempDir();
afterAll(() => tmp.remove());

/** 20 increments of one key, each issued from its own callback of one event-loop turn; the groups that landed. */
async function arrivals(groupCommit: "immediate" | "per-turn") {
  const backend = new SqliteBackend({ path: join(tmp.dir, `${groupCommit}.db`), groupCommit });
  const store = new StateStore(backend);
  let groups = 0;
  const unsubscribe = backend.subscribe(() => groups++);
  const results = await Promise.all(
    Array.from(
      { length: 20 },
      () =>
        new Promise<number>((resolve, reject) =>
          setImmediate(() =>
            store.commit({ key: "turn/count", op: op.increment(1) }).then((r) => resolve(r.version), reject),
          ),
        ),
    ),
  );
  unsubscribe();
  const count = await store.read("turn/count");
  await store.close();
  return { groups, versions: results, count: count.value };
}

describe("SQLite group commit start", () => {
  it('"per-turn" lands commits that arrive in separate callbacks of one turn in one group; "immediate" one each', async () => {
    const perTurn = await arrivals("per-turn");
    expect(perTurn.groups).toBe(1);
    expect(perTurn.versions).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(perTurn.count).toBe(20);
    const immediate = await arrivals("immediate");
    expect(immediate.groups).toBe(20);
    expect(immediate.count).toBe(20);
  });

  it("refuses an unknown groupCommit or durability with INVALID_INPUT, creating nothing", async () => {
    const path = join(tmp.dir, "never", "state.db");
    for (const options of [{ groupCommit: "sometimes" }, { durability: "fast" }] as const) {
      const attempt = () => new SqliteBackend({ path, ...(options as object) });
      expect(attempt).toThrow(InvalidInputError);
      await expect(openStore({ path, ...(options as object) })).rejects.toMatchObject({
        code: "INVALID_INPUT",
        details: { issues: [{ path: [Object.keys(options)[0]] }] },
      });
    }
    expect(existsSync(join(tmp.dir, "never"))).toBe(false);
  });
});
