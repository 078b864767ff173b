/**
 * Options of the PostgreSQL backend. Kept apart from the backend so `openStore`'s types can name them without loading
 * `pg` (an optional peer dependency).
 */

/** Connection-pool settings; every field has a default fit for a coordinator process. */
export interface PostgresPoolOptions {
  /** Most connections this store opens (plus one for LISTEN while someone watches). Default 10. */
  max?: number;
  /** An idle connection is closed after this long. Default 30,000 ms. */
  idleTimeoutMs?: number;
  /** Giving up on connecting (→ `UNAVAILABLE`) after this long. Default 5,000 ms. */
  connectTimeoutMs?: number;
  /**
   * Server-side limit on one statement, lock waits included (→ `UNAVAILABLE`, nothing applied). Default 15,000 ms.
   * A client-side guard of this plus 5 s catches a silent network partition.
   */
  statementTimeoutMs?: number;
  /**
   * The server ends a session left idle inside a transaction this long, so a stalled (SIGSTOPped) process cannot
   * hold its key locks forever. Default 15,000 ms.
   */
  idleInTransactionTimeoutMs?: number;
  /** Shown in `pg_stat_activity`. Default `"fenced-state"`. */
  applicationName?: string;
}

export interface PostgresBackendOptions {
  /** `postgres://user:password@host:5432/database` (any libpq-style URL that node-postgres accepts). */
  url: string;
  /**
   * The schema holding fenced-state's tables, created if missing. Stores that should share state name the same
   * schema; different schemas in one database are independent. Default `"fenced_state"`.
   */
  schema?: string;
  pool?: PostgresPoolOptions;
}

/** The schema used when none is given. */
export const DEFAULT_SCHEMA = "fenced_state";
