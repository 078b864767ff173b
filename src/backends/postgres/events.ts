/**
 * The Postgres event log without a commit-long lock (docs/postgres.md, "The event log"; docs/design.md §3).
 *
 * Writers never wait for each other: an event's seq comes from a sequence (`events_seq`), so two transactions take
 * seqs in one order and may commit in the other. Readers keep the log gap-free instead: they return an event only
 * when no transaction still in flight can commit a smaller seq, so a watcher reading "seq > n" never passes a seq
 * that fills in later.
 *
 * How a reader knows. Each event stores a *horizon*: the newest transaction id (`pg_current_xact_id()`) among every
 * transaction that had taken a seq by the time this one took its own, its own included; so a transaction that took
 * a smaller seq has an id at most the event's horizon. A reader's statement snapshot lists the transactions in
 * flight when it began (`pg_current_snapshot()`). A visible event is *settled* when none of them can be such a
 * transaction of this store: then each smaller seq is either visible in this same snapshot or never will be. A
 * reader returns events in seq order up to, not including, the first visible event that is not settled.
 *
 * Which in-flight transactions count: only this store's seq takers. Each registers, before it takes a seq, with a
 * transaction-scoped advisory lock keyed (store tag, its id), in `pg_locks` until it ends. A read is one round trip
 * of three statements, each with its own snapshot: the last seq handed out so far, then the registered ids, then the
 * events. An event is held back when an id in flight in the third snapshot (`pg_snapshot_xip`), at most its horizon,
 * was registered; or when its seq was handed out after the read began, or its horizon is at or above the snapshot's
 * xmax (a seq taker newer than every ended transaction): those wait for a later read. A transaction that registers
 * after the registrations were read takes a larger seq than any handed out before, so it cannot hide below an event
 * the read returns. Transactions of other stores, databases or applications, however long, hold nothing back. When
 * nothing in flight is older than the horizon (it is below the snapshot's xmin), the event is settled at once.
 *
 * Why the horizon and not the event's own transaction id: ids and seqs are two counters, and a transaction that got
 * its id later can still take its seq earlier (A gets id 100; B gets id 101 and seq 7; A gets seq 8 and commits;
 * B, holding 7, is in flight with an id above A's). So a seq is taken in a short critical section, after the
 * transaction has its id and has registered: under a mutex (a transaction-scoped advisory lock taken inside a
 * subtransaction that is then rolled back, releasing it: held for microseconds and never across an fsync), the
 * transaction takes `nextval` and raises the shared horizon (the `events_horizon` sequence) to its id; the value read
 * back is the event's horizon. Sequences are not transactional, so the rollback keeps both. One server-side function,
 * `take_event_seq`, does all of it in one statement.
 *
 * The cost: an event is readable once every transaction of this store that took a smaller seq (or took one earlier
 * with an older id) has ended: right after its own commit for a lone writer, moments later under concurrent writers.
 * Writers never wait for it.
 */
import { int, prepared, text } from "./sql.js";
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
  CREATE INDEX events_by_horizon ON $S.events (horizon);
  -- The critical section: the transaction id and its registration first, then, under the mutex, the seq and the
  -- raised horizon. The inner block is rolled back on purpose (FS001), which releases the mutex at once; sequences
  -- keep their values; the registration, taken outside the block, lasts until the transaction ends.
  CREATE FUNCTION $S.take_event_seq(mutex bigint, tag int, OUT seq bigint, OUT horizon bigint) LANGUAGE plpgsql AS $fn$
  DECLARE
    me constant bigint := pg_current_xact_id()::text::bigint;
    low constant bigint := me % 4294967296;
  BEGIN
    PERFORM pg_advisory_xact_lock(tag, (CASE WHEN low >= 2147483648 THEN low - 4294967296 ELSE low END)::int);
    BEGIN
      PERFORM pg_advisory_xact_lock(mutex);
      seq := nextval('$S.events_seq');
      SELECT CASE WHEN h.last_value >= me THEN h.last_value ELSE setval('$S.events_horizon', me) END
        INTO horizon FROM $S.events_horizon AS h;
      RAISE SQLSTATE 'FS001';
    EXCEPTION WHEN SQLSTATE 'FS001' THEN NULL;
    END;
  END $fn$;`;

const SNAPSHOT = "pg_current_snapshot()";
const NO_BOUND = "9223372036854775807";

/** A store's registration tag (`take_event_seq`): 31 bits of its schema's hash, so `pg_locks.classid` shows it as is. */
export function registrationTag(schema: string): number {
  return Number(BigInt(lockId(schema, "events", "registration")) & 0x7fffffffn);
}

/** The event-log statements on the quoted schema `s` of the schema named `schema`. */
export function eventSql(s: string, schema: string) {
  const tag = registrationTag(schema);
  const mutex = int(lockId(schema, "events", ""));
  /**
   * Two statements before a read, each with its own snapshot: the last seq handed out so far, then the low 32 bits of
   * the ids of this store's registered transactions (in that order: a transaction that registers later takes a
   * larger seq). `local`: kept in transaction-local settings for the read, the batch's third statement (`before`);
   * else in session settings, read before a snapshot's BEGIN (`snapshotBounds`).
   */
  const bounds = (local: boolean) => [
    `SELECT set_config('fenced.seq_floor', (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM ${s}.events_seq)::text, ${local})`,
    `SELECT set_config('fenced.registered', ARRAY(SELECT l.objid::bigint FROM pg_locks AS l
        WHERE l.locktype = 'advisory' AND l.objsubid = 2 AND l.classid = ${tag}
          AND l.database = (SELECT d.oid FROM pg_database AS d WHERE d.datname = current_database()))::text, ${local})`,
  ];
  const before = bounds(true);
  /** The first visible seq above `after` that is not settled yet, or NULL (see the top of this file). */
  const unsettled = (after: string) => `(SELECT min(u.seq) FROM ${s}.events AS u
      WHERE u.seq > ${after} AND u.horizon >= pg_snapshot_xmin(${SNAPSHOT})::text::bigint
        AND (u.seq > current_setting('fenced.seq_floor')::bigint
          OR u.horizon >= pg_snapshot_xmax(${SNAPSHOT})::text::bigint
          OR EXISTS (SELECT 1 FROM pg_snapshot_xip(${SNAPSHOT}) AS x(id)
                      WHERE x.id::text::bigint <= u.horizon
                        AND x.id::text::bigint % 4294967296 = ANY (current_setting('fenced.registered')::bigint[]))))`;
  /** The highest seq a reader may know final: the last visible event below the first unsettled one. */
  const settledLast = `(SELECT coalesce(max(l.seq), 0) FROM ${s}.events AS l WHERE l.seq < coalesce(${unsettled("0")}, ${NO_BOUND}))`;
  const batch = (statement: string) => [...before, statement].join(";\n");
  const append = prepared(
    "append_event",
    ["bigint", "text", "bigint", "bigint", "text", "text", "text"],
    `INSERT INTO ${s}.events (seq, horizon, ts, key, version, epoch, owner, op_id, outcome)
       SELECT g.seq, g.horizon, $1, $2, $3, $4, $5, $6, $7 FROM ${s}.take_event_seq(${mutex}, ${tag}) AS g
     RETURNING seq`,
  );
  return {
    /** The statements below that run as `EXECUTE` (sql.ts, `Prepared`). */
    prepared: [append.statement],
    /**
     * Appends an event: takes its seq and horizon in the critical section (see the top of this file), then inserts
     * the row, in one statement; answers `seq`.
     */
    append: (e: Omit<StateEvent, "seq">) =>
      append.run(int(e.ts), text(e.key), int(e.version), int(e.epoch), text(e.owner), text(e.opId), text(e.outcome)),
    /**
     * Settled events after `after` whose key is in [`from`, `to`), oldest first, at most `limit`; each row (and one
     * row of NULLs when there is none) also says `held`: whether a visible event after `after` is not settled yet.
     * A batch whose last result is the answer.
     */
    read: (q: { after: number; from: string; to: string | null; limit: number }) =>
      batch(`SELECT e.*, b.seq IS NOT NULL AS held
         FROM (SELECT ${unsettled(int(q.after))} AS seq) AS b
         LEFT JOIN LATERAL (
           SELECT seq, ts, key, version, epoch, owner, op_id, outcome FROM ${s}.events
            WHERE seq > ${int(q.after)} AND seq < coalesce(b.seq, ${NO_BOUND})
              AND key >= ${text(q.from)} AND (${text(q.to)}::text IS NULL OR key < ${text(q.to)})
            ORDER BY seq LIMIT ${int(q.limit)}) AS e ON true`),
    /** The last settled seq; a batch whose last result is the answer. */
    lastSeq: batch(`SELECT ${settledLast} AS seq`),
    /**
     * Before a snapshot's BEGIN, in a round trip of its own: the floor and the registrations, as session settings. A
     * REPEATABLE READ transaction takes its snapshot at its first statement, and `pg_locks` shows the present, not a
     * snapshot: read inside the transaction, the registrations were newer than the snapshot, so a seq taker in flight
     * in the snapshot that ended just after it was not counted, and a snapshot holding a later seq but not its
     * smaller one passed as settled (test/backends/postgres-event-log.test.ts, one run in seven). Read first, they
     * keep the order every read relies on: floor, registrations, snapshot.
     */
    snapshotBounds: bounds(false).join(";\n"),
    /**
     * Inside a snapshot, after `snapshotBounds`: the last settled seq and the newest visible one. Equal, the snapshot
     * holds exactly the events up to that seq (a prefix of the log); the newest greater, it holds a commit whose
     * smaller seq is still in flight.
     */
    snapshotSeq: `SELECT ${settledLast} AS seq, (SELECT coalesce(max(v.seq), 0) FROM ${s}.events AS v) AS newest`,
    /**
     * Keeps the newest `maxEvents` events, and always the last settled one, so `lastSeq` survives a purge (seqs come
     * from the sequence, so none is handed out again either way). A batch.
     */
    purge: (maxEvents: number) =>
      batch(`DELETE FROM ${s}.events
        WHERE seq < (SELECT k.seq FROM ${s}.events AS k ORDER BY k.seq DESC OFFSET ${int(maxEvents - 1)} LIMIT 1)
          AND seq < ${settledLast}`),
  };
}

export type EventSql = ReturnType<typeof eventSql>;
