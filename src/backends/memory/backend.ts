/**
 * The in-memory backend: the same semantics as SQLite, no persistence. For tests and single-process use.
 *
 * Read isolation (G1) holds by construction: a transaction buffers its writes and applies them in one synchronous step
 * when its body resolves, so a read, which may run while a body awaits, sees only applied (committed) state, and a
 * body that throws leaves nothing behind. Event seqs come from a counter that purges never move back. A snapshot copies
 * the record map and the seq in one synchronous step, so it is a state between two applied transactions.
 */
import type {
  Backend,
  BackendTx,
  IdempotencyRecord,
  KeyState,
  ListQuery,
  SnapshotReader,
  StoredClaim,
  StoredRecord,
} from "../../core/backend.js";
import type { StateEvent } from "../../core/schemas.js";
import { CloseGate, gatedReader } from "../../core/close-gate.js";
import { MemoryCheckpoints } from "./checkpoints.js";
import { compareKeys } from "../key-order.js";
import { Listeners, SerialQueue } from "../serial.js";

export class MemoryBackend implements Backend {
  readonly kind = "memory";
  private readonly checkpointRows = new MemoryCheckpoints((key) => this.records.get(key));
  private readonly gate = new CloseGate();
  readonly checkpoints = gatedReader(this.checkpointRows, this.gate);
  private records = new Map<string, StoredRecord>();
  private claims = new Map<string, StoredClaim>();
  private idempotency = new Map<string, IdempotencyRecord>();
  private events: StateEvent[] = [];
  /** The last seq handed out. */
  private seq = 0;
  /** The store-wide epoch counter (`BackendTx.nextEpoch`). */
  private epoch = 0;
  private readonly queue = new SerialQueue();
  private readonly listeners = new Listeners();

  transact<T>(fn: (tx: BackendTx) => Promise<T>): Promise<T> {
    return this.gate.run(() =>
      this.queue.run(async () => {
        // Writes are buffered and applied only when `fn` resolves: a throw leaves nothing behind.
        const records = new Map<string, StoredRecord>();
        const claims = new Map<string, StoredClaim>();
        const idem = new Map<string, IdempotencyRecord>();
        const events: StateEvent[] = [];
        const checkpoints = this.checkpointRows.begin();
        let epoch = this.epoch;
        const tx: BackendTx = {
          getKeyState: (key): KeyState => {
            const record = records.get(key) ?? this.records.get(key);
            const claim = claims.get(key) ?? this.claims.get(key);
            return { ...(record && { record: { ...record } }), ...(claim && { claim: { ...claim } }) };
          },
          putRecord: (r) => void records.set(r.key, { ...r }),
          putClaim: (c) => void claims.set(c.key, { ...c }),
          getIdempotency: (opId) => idem.get(opId) ?? this.idempotency.get(opId),
          putIdempotency: (r) => void idem.set(r.opId, { ...r }),
          appendEvent: (e) => {
            const seq = this.seq + events.length + 1;
            events.push({ ...e, seq });
            return seq;
          },
          nextEpoch: (atLeast) => (epoch = Math.max(epoch, atLeast) + 1),
          checkpoints: checkpoints.tx,
        };
        const result = await fn(tx);
        for (const [k, r] of records) this.records.set(k, r);
        for (const [k, c] of claims) this.claims.set(k, c);
        for (const [k, r] of idem) this.idempotency.set(k, r);
        this.events.push(...events);
        this.seq += events.length;
        this.epoch = epoch;
        checkpoints.apply();
        if (events.length > 0 || records.size > 0) this.listeners.notify();
        return result;
      }),
    );
  }

  getRecord(key: string): Promise<StoredRecord | undefined> {
    return this.gate.run(async () => {
      const r = this.records.get(key);
      return r && { ...r };
    });
  }

  getClaim(key: string): Promise<StoredClaim | undefined> {
    return this.gate.run(async () => {
      const c = this.claims.get(key);
      return c && { ...c };
    });
  }

  listRecords(q: ListQuery): Promise<StoredRecord[]> {
    return this.gate.run(async () => listIn(this.records, q));
  }

  snapshot<T>(fn: (r: SnapshotReader) => Promise<T>): Promise<T> {
    return this.gate.run(() => {
      // Transactions apply in one synchronous step, and records are replaced, never mutated: this copy is one state.
      const records = new Map(this.records);
      const seq = this.seq;
      return fn({
        getRecords: (keys) =>
          keys.map((key) => {
            const r = records.get(key);
            return r && { ...r };
          }),
        listRecords: (q) => listIn(records, q),
        lastSeq: () => seq,
      });
    });
  }

  readEvents(q: { prefix: string; afterSeq: number; limit: number }): Promise<StateEvent[]> {
    return this.gate.run(async () => this.eventsAfter(q));
  }

  private eventsAfter(q: { prefix: string; afterSeq: number; limit: number }): StateEvent[] {
    const out: StateEvent[] = [];
    // Events are in seq order; seq numbers may have gaps after a purge, so search rather than index.
    let lo = 0;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.events[mid]!.seq <= q.afterSeq) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.events.length && out.length < q.limit; i++) {
      const e = this.events[i]!;
      if (e.key.startsWith(q.prefix)) out.push({ ...e });
    }
    return out;
  }

  lastSeq(): Promise<number> {
    return this.gate.run(async () => this.seq);
  }

  subscribe(listener: () => void): () => void {
    return this.listeners.add(listener);
  }

  purge(q: { idempotencyBefore: number; maxEvents: number }): Promise<void> {
    return this.gate.run(() =>
      this.queue.run(async () => {
        for (const [k, r] of this.idempotency) if (r.createdAt < q.idempotencyBefore) this.idempotency.delete(k);
        if (this.events.length > q.maxEvents) this.events = this.events.slice(this.events.length - q.maxEvents);
      }),
    );
  }

  /** Waits for every call issued before it; later calls get `CLOSED`. */
  close(): Promise<void> {
    return this.gate.close(async () => {});
  }
}

function listIn(records: Map<string, StoredRecord>, q: ListQuery): StoredRecord[] {
  return [...records.values()]
    .filter(
      (r) =>
        r.key.startsWith(q.prefix) &&
        (q.after === undefined || compareKeys(r.key, q.after) > 0) &&
        (q.includeDeleted || r.valueText !== null),
    )
    .sort((a, b) => compareKeys(a.key, b.key))
    .slice(0, q.limit)
    .map((r) => ({ ...r }));
}
