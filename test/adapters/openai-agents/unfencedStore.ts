/**
 * The mutant: a `StateStore` whose `commit` bypasses every check the adapter relies on, to show that the race tests
 * fail without them. It drops `expectVersion`, presents whatever epoch is live instead of the writer's own, and applies
 * `append` as read-then-set, i.e. what a session or tool written with a plain `set` does. Tests only.
 */
import { op, StateStore, type CommitRequest, type CommitResult, type Json } from "../../../src/index.js";

export class UnfencedStore extends StateStore {
  constructor(store: StateStore) {
    super(store.backend);
  }

  override async commit(request: CommitRequest): Promise<CommitResult> {
    const { expectVersion: _version, epoch: _epoch, ...rest } = request;
    const live = await this.currentClaim(request.key);
    let o = request.op;
    if (o.type === "append") {
      const r = await this.read(request.key);
      o = op.set([...((r.value as Json[] | undefined) ?? []), ...o.items]);
    }
    return super.commit({ ...rest, op: o, ...(live && { epoch: live.epoch }) });
  }
}
