/**
 * The Postgres event log without a commit-long lock (docs/postgres.md, "The event log"; docs/design.md §3).
 *
 * Writers never wait for each other: an event's seq comes from a sequence (`events_seq`), so two transactions take
 * seqs in one order and may commit in the other. Readers keep the log gap-free instead: they return an event only
 * when no transaction still in flight can commit a smaller seq, so a watcher reading "seq > n" never passes a seq
 * that fills in later.
 *
 * How a reader knows. Each event stores a *horizon*: the newest transaction id (`pg_current_xact_id()`) among every
 * transaction that had taken a seq by the time this one took its own, its own included. A statement's snapshot tells
 * the oldest transaction still in flight anywhere on the server (`pg_snapshot_xmin(pg_current_snapshot())`, "xmin":
 * every id below it has ended). An event whose horizon is below xmin is *settled*: every transaction that took a
 * smaller seq has ended, so each of those seqs is either visible in this same snapshot or never will be. A reader
 * returns events in seq order up to, not including, the first visible event that is not settled.
 *
 * Why the horizon and not the event's own transaction id: ids and seqs are two counters, and a transaction that got
 * its id later can still take its seq earlier (A gets id 100; B gets id 101 and seq 7; A gets seq 8 and commits;
 * xmin is now 101, above A's id, while B, holding 7, is in flight). So a seq is taken in a short critical section,
 * after the transaction has its id: under a mutex (a transaction-scoped advisory lock taken inside a savepoint and
 * released by rolling back to it, before any COMMIT, so it is held for microseconds and never across an fsync), the
 * transaction takes `nextval` and raises the shared horizon (the `events_horizon` sequence) to its id; the value
 * read back is the event's horizon. Sequences are not transactional, so the rollback to the savepoint keeps both.
 *
 * The cost of the scheme: an event shows up once every transaction older than its horizon has ended, on the whole
 * server (xmin is server-wide): a long write transaction, even in another database, delays watchers (not writers)
 * until it ends, and a forgotten prepared transaction (`PREPARE TRANSACTION`) holds them until it is resolved.
 */
import { int, text } from "./sql.js";
import { lockId } from "./locks.js";
import type { StateEvent } from "../../core/schemas.js";

/**
 * The migration (POSTGRES_MIGRATIONS[3]) from the one-row counter `event_seq`, locked from the append to COMMIT, to
 * the seq and horizon sequences. Existing events keep their seqs and get horizon 0 (settled: their transactions have
 * ended); the next seq continues above the last one handed out.
 */
export const EVENT_HORIZON_MIGRATION = `
  CREATE SEQUENCE $S.events_seq AS bigint MINVALUE 1;
  SELECT setval('$S.events_seq', greatest(seq, 1), seq > 0) FROM $S.event_seq;
  DROP TABLE $S.event_seq;
  CREATE SEQUENCE $S.events_horizon AS bigint MINVALUE 0 START 0;
  ALTER TABLE $S.events ADD COLUMN horizon bigint NOT NULL DEFAULT 0;
  ALTER TABLE $S.events ALTER COLUMN horizon DROP DEFAULT;
  -- The readers' bound looks up the few events not yet settled (horizon >= xmin).
  CREATE INDEX events_by_horizon ON $S.events (horizon);`;

/** The oldest transaction id still in flight on the server, as of the statement's snapshot. */
const XMIN = "pg_snapshot_xmin(pg_current_snapshot())::text::bigint";
const NO_BOUND = "9223372036854775807";

/** A seq and its horizon, taken in the critical section. */
export interface SeqGrant {
  seq: number;
  horizon: string;
}

/** The event-log statements on the quoted schema `s` of the schema named `schema`. */
export function eventSql(s: string, schema: string) {
  /** The first seq above `after` that is visible and not yet settled, or NULL. */
  const unsettled = (after: string) => `(SELECT min(u.seq) FROM ${s}.events AS u WHERE u.horizon >= ${XMIN} AND u.seq > ${after})`;
  /** The highest seq a reader may know final: the last visible event below the first unsettled one. */
  const settledLast = `(SELECT coalesce(max(l.seq), 0) FROM ${s}.events AS l WHERE l.seq < coalesce(${unsettled("0")}, ${NO_BOUND}))`;
  const named = (name: string, text: string) => ({ name: `fenced_${name}`, text });
  return {
    /**
     * Takes a seq in the critical section (see the top of this file). Five statements, one round trip; the third
     * answers (`seq`, `horizon`). The transaction id is taken first, in the subquery, so it exists before `nextval`.
     */
    grant: (): string[] => [
      "SAVEPOINT fenced_seq",
      `SELECT pg_advisory_xact_lock(${int(lockId(schema, "events", ""))})`,
      `SELECT nextval('${s}.events_seq') AS seq,
              CASE WHEN h.last_value >= me.xid THEN h.last_value ELSE setval('${s}.events_horizon', me.xid) END AS horizon
         FROM (SELECT pg_current_xact_id()::text::bigint AS xid OFFSET 0) AS me, ${s}.events_horizon AS h`,
      "ROLLBACK TO SAVEPOINT fenced_seq",
      "RELEASE SAVEPOINT fenced_seq",
    ],
    /** Where `grant()`'s answer sits among its results. */
    grantResult: 2,
    insert: (e: Omit<StateEvent, "seq">, grant: SeqGrant) =>
      `INSERT INTO ${s}.events (seq, horizon, ts, key, version, epoch, owner, op_id, outcome)
         VALUES (${int(grant.seq)}, ${int(grant.horizon)}, ${int(e.ts)}, ${text(e.key)}, ${int(e.version)}, ${int(e.epoch)},
                 ${text(e.owner)}, ${text(e.opId)}, ${text(e.outcome)})`,
    /**
     * Settled events after `$1` whose key is in [`$2`, `$3`), oldest first, at most `$4`; each row (and one row of
     * NULLs when there is none) also says `held`: whether a visible event after `$1` is not settled yet.
     */
    read: named(
      "events",
      `SELECT e.*, b.seq IS NOT NULL AS held
         FROM (SELECT ${unsettled("$1")} AS seq) AS b
         LEFT JOIN LATERAL (
           SELECT seq, ts, key, version, epoch, owner, op_id, outcome FROM ${s}.events
            WHERE seq > $1 AND seq < coalesce(b.seq, ${NO_BOUND}) AND key >= $2 AND ($3::text IS NULL OR key < $3)
            ORDER BY seq LIMIT $4) AS e ON true`,
    ),
    lastSeq: named("last_seq", `SELECT ${settledLast} AS seq`),
    /**
     * Keeps the newest `$1` events, and always the last settled one, so `lastSeq` survives a purge (seqs come from
     * the sequence, so none is handed out again either way).
     */
    purge: named(
      "purge_events",
      `DELETE FROM ${s}.events
        WHERE seq < (SELECT k.seq FROM ${s}.events AS k ORDER BY k.seq DESC OFFSET $1::bigint - 1 LIMIT 1)
          AND seq < ${settledLast}`,
    ),
  };
}

export type EventSql = ReturnType<typeof eventSql>;
