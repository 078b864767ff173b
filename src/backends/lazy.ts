/**
 * A backend that opens on first use. LangGraph's own savers open synchronously (`SqliteSaver.fromConnString(path)`);
 * `FencedCheckpointSaver.fromConnString` does the same over this. Every call waits for the open; a failed open is
 * tried again by the next call, so a database that was down at first use is picked up once it is up.
 */
import type { Backend, BackendTx, ListQuery, SnapshotReader, StoredClaim, StoredRecord } from "../core/backend.js";
import type { CheckpointReader } from "../core/checkpoints.js";
import { InvalidInputError } from "../core/errors.js";
import type { StateEvent } from "../core/schemas.js";

export class LazyBackend implements Backend {
  readonly kind: Backend["kind"];
  readonly checkpoints: CheckpointReader;
  private opening: Promise<Backend> | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    kind: Backend["kind"],
    private readonly open: () => Promise<Backend>,
  ) {
    this.kind = kind;
    const reader = async () => {
      const checkpoints = (await this.backend()).checkpoints;
      if (!checkpoints)
        throw new InvalidInputError({
          issues: [{ path: ["backend"], message: `the ${kind} backend keeps no checkpoints` }],
        });
      return checkpoints;
    };
    this.checkpoints = {
      getCheckpoint: async (ref) => (await reader()).getCheckpoint(ref),
      getHeadCheckpoint: async (query) => (await reader()).getHeadCheckpoint(query),
      listCheckpoints: async (query) => (await reader()).listCheckpoints(query),
    };
  }

  /** Whether the backend has been opened (by a call) yet. */
  get opened(): boolean {
    return this.opening !== undefined;
  }

  async transact<T>(fn: (tx: BackendTx) => Promise<T>): Promise<T> {
    return (await this.backend()).transact(fn);
  }

  async getRecord(key: string): Promise<StoredRecord | undefined> {
    return (await this.backend()).getRecord(key);
  }

  async getClaim(key: string): Promise<StoredClaim | undefined> {
    return (await this.backend()).getClaim(key);
  }

  async listRecords(query: ListQuery): Promise<StoredRecord[]> {
    return (await this.backend()).listRecords(query);
  }

  async snapshot<T>(fn: (r: SnapshotReader) => Promise<T>): Promise<T> {
    return (await this.backend()).snapshot(fn);
  }

  async readEvents(query: { prefix: string; afterSeq: number; limit: number }): Promise<StateEvent[]> {
    return (await this.backend()).readEvents(query);
  }

  async lastSeq(): Promise<number> {
    return (await this.backend()).lastSeq();
  }

  subscribe(listener: () => void): () => void {
    let unsubscribe: (() => void) | undefined;
    let active = true;
    this.backend().then(
      (b) => {
        if (active) unsubscribe = b.subscribe(listener);
      },
      () => {}, // the caller's next call reports the failed open
    );
    return () => {
      active = false;
      unsubscribe?.();
    };
  }

  async purge(query: { idempotencyBefore: number; maxEvents: number }): Promise<void> {
    return (await this.backend()).purge(query);
  }

  /** Closes the backend if it was opened; idempotent. A store closed before its first use never opens. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const opened = await this.opening?.catch(() => undefined);
      await opened?.close();
    })();
    return this.closing;
  }

  private backend(): Promise<Backend> {
    if (this.closing !== undefined && this.opening === undefined) {
      return Promise.reject(new InvalidInputError({ issues: [{ path: [], message: "the store is closed" }] }));
    }
    this.opening ??= this.open().catch((err: unknown) => {
      this.opening = undefined;
      throw err;
    });
    return this.opening;
  }
}
