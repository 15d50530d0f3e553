/** Something SQL can be sent to: the database itself or an open transaction. */
export interface Queryable {
  /**
   * Runs one statement with `$1`-style parameters and returns its rows. Pass a JSON value as an
   * object or array for a `jsonb` parameter: both drivers serialise it; a string there would be
   * taken as JSON text by PGlite but as a JSON string by the server driver.
   */
  query<Row extends object = Record<string, unknown>>(
    text: string,
    params?: readonly unknown[],
  ): Promise<Row[]>;

  /** Runs a script of one or more statements without parameters (migrations, DDL). */
  exec(script: string): Promise<void>;
}

/** One statement of `Database.batch`, with `$1`-style parameters. */
export interface Statement {
  text: string;
  params?: readonly unknown[] | undefined;
}

/** Where a driver runs: a Postgres server (local, Supabase) or the embedded PGlite. */
export type DatabaseDriver = 'postgres' | 'pglite';

/**
 * Kai's one database interface. Both drivers promise the same behaviour for `query`, `exec`,
 * `transaction` and `listen`; what differs (PGlite runs one transaction at a time) is
 * documented on the driver.
 */
export interface Database extends Queryable {
  readonly driver: DatabaseDriver;

  /**
   * Runs `work` in a transaction: committed when it resolves, rolled back when it throws (the
   * error is rethrown unchanged).
   */
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;

  /**
   * Runs `statements` in order as one transaction, sent together: on the server driver in one
   * round trip, without BEGIN or COMMIT of their own. None can use another's result, but each
   * sees what the earlier ones did, settings made local with `set_config(..., true)` included.
   * If one fails, nothing is committed, the later ones do not run, and the call rejects with
   * the failing statement's error. Resolves with each statement's rows, in order.
   */
  batch(statements: readonly Statement[]): Promise<Record<string, unknown>[][]>;

  /**
   * Calls `onPayload` for every notification on `channel` until the returned function is
   * called. Resolves once the server is listening, so a NOTIFY sent afterwards is seen.
   */
  listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>;

  /** Sends a notification; delivered when the surrounding transaction, if any, commits. */
  notify(channel: string, payload: string): Promise<void>;

  /** Closes every connection; further calls fail. */
  close(): Promise<void>;
}
