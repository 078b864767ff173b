/**
 * The crash loops' invariants (test/process/crash-loop.ts, test/process/coordinator-crash-loop.ts). Writers commit
 * `increment(1)` to their own counter `crash/…` with opIds `<key>#<i>`, i = 0, 1, 2, … in order, and acknowledge
 * each commit with the version it got. After each cycle, with no writer running:
 *
 * - every acknowledged commit is in the event log exactly once, with the version it was acknowledged with, and that
 *   version is i + 1 (commit i is the (i+1)-th change of its counter: nothing before it was lost or applied twice);
 * - each counter's committed versions form one chain 1, 2, 3, … (no gap, no fork, no repeat);
 * - no opId is committed twice (a retry with the same opId is replayed, never re-applied);
 * - each counter's value equals its version equals its last committed version.
 *
 * The event log is read incrementally (everything after the previous check): the checker remembers each committed
 * opId with its version and each counter's last version, so a check costs the same at cycle 1,000 as at cycle 1 and
 * does not depend on the log's retention (the store keeps the newest 100,000 events).
 */
import type { StateStore } from "../../src/index.js";

/** One acknowledgement: commit `ack` (opId `<key>#<ack>`) returned `version`. */
export interface LedgerAck {
  ack: number;
  version: number;
}

export class LedgerChecker {
  private readonly applied = new Map<string, number>();
  private readonly lastVersion: Map<string, number>;
  private nextSeq = 1;
  /** Acknowledged commits not in the store: must stay 0. */
  lost = 0;
  /** opIds committed more than once: must stay 0. */
  doubleApplied = 0;
  readonly problems: string[] = [];

  constructor(private readonly keys: string[]) {
    this.lastVersion = new Map(keys.map((k) => [k, 0]));
  }

  /** Checks the store after `cycle`, given each key's acknowledgements from that cycle. */
  async check(store: StateStore, cycle: number, acks: Map<string, LedgerAck[]>): Promise<void> {
    const problem = (msg: string) => this.problems.push(`cycle ${cycle}: ${msg}`);
    for (;;) {
      const page = await store.events("crash/", { fromSeq: this.nextSeq, limit: 10_000 });
      for (const e of page) {
        this.nextSeq = e.seq + 1;
        if (e.outcome !== "committed") continue;
        const opId = e.opId ?? "(none)";
        if (this.applied.has(opId)) {
          this.doubleApplied++;
          problem(`${opId} committed twice (versions ${this.applied.get(opId)} and ${e.version})`);
        }
        this.applied.set(opId, e.version);
        const last = this.lastVersion.get(e.key) ?? 0;
        if (e.version !== last + 1) problem(`${e.key} went from version ${last} to ${e.version}: not one chain`);
        this.lastVersion.set(e.key, e.version);
      }
      if (page.length < 10_000) break;
    }
    for (const key of this.keys) {
      for (const a of acks.get(key) ?? []) {
        const version = this.applied.get(`${key}#${a.ack}`);
        if (version === undefined) {
          this.lost++;
          problem(`acknowledged ${key}#${a.ack} (version ${a.version}) is not in the store`);
        } else if (version !== a.version || a.version !== a.ack + 1) {
          problem(`acknowledged ${key}#${a.ack} with version ${a.version}; the store has it at version ${version}`);
        }
      }
      const record = await store.read(key);
      const last = this.lastVersion.get(key)!;
      if (record.version !== last || (record.value ?? 0) !== last) {
        problem(
          `${key} reads version ${record.version}, value ${JSON.stringify(record.value)}; ${last} commits were logged`,
        );
      }
    }
  }
}
