/**
 * Runs a hook inside a commit's transaction, after every check and write of the commit: the fault-injection point of
 * the backend tests (a connection killed, a stall, a throw after the writes). It goes through the same internal facet
 * the LangGraph saver writes its rows through; `StateStore.commit` takes no hook. On Postgres the writes may still be
 * queued when the hook runs (they travel with the next statement that needs an answer); the event of a commit with an
 * opId has been sent, and its seq taken, before the hook (the opId's record keeps the seq).
 */
import type { WithinCommit } from "../../src/core/commit.js";
import { commitWithRows } from "../../src/core/store.js";
import type { CommitRequest, CommitResult, StateStore } from "../../src/index.js";

export async function commitWithin(
  store: StateStore,
  request: CommitRequest,
  hook: WithinCommit,
): Promise<CommitResult> {
  const { opId, guards, ...rest } = request;
  const { results, replayed } = await commitWithRows(
    store,
    { requests: [rest], ...(opId !== undefined && { opId }), ...(guards !== undefined && { guards }) },
    hook,
  );
  return { ...results[0]!, replayed };
}
