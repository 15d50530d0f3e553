import { PGlite, type Transaction } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import type { Database, Queryable } from './database.ts';
import { MAINTENANCE_INTERVAL_MS, maintainTables } from './pglite-maintenance.ts';
import { createPreparedStatements } from './pglite-prepared.ts';

export interface PgliteDatabaseOptions {
  /** Folder holding the database files; omitted, the database lives in memory. */
  dataDir?: string | undefined;
  /** A tarball from `dump()` to start from, as tests do to skip migrating each time. */
  loadDataDir?: Blob | undefined;
  /**
   * How often to VACUUM and ANALYZE the tables due, as autovacuum would (`maintainTables`);
   * `MAINTENANCE_INTERVAL_MS` when unset, 0 for never.
   */
  maintenanceIntervalMs?: number | undefined;
}

/** What a statement sent on a transaction that has ended is refused with. */
export const TRANSACTION_CLOSED = 'The transaction is closed.';

/** The PGlite driver plus what only an embedded database can do. */
export interface PgliteDatabase extends Database {
  readonly driver: 'pglite';
  /** Writes the whole database as a tarball, to be loaded with `loadDataDir`. */
  dump(): Promise<Blob>;
}

/**
 * Postgres compiled to WebAssembly, with pgvector, on the thread that calls it: what the
 * embedded driver's worker (pglite-worker.ts) runs. Kai itself opens it through
 * `createPgliteDatabase`, which keeps its work off the thread that serves requests.
 *
 * Limitation: PGlite runs one statement and one transaction at a time; concurrent callers
 * wait their turn, so concurrency is only meaningful on the server driver.
 */
export async function openPgliteEngine(
  options: PgliteDatabaseOptions = {},
): Promise<PgliteDatabase> {
  const pg = await PGlite.create({
    ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
    ...(options.loadDataDir === undefined ? {} : { loadDataDir: options.loadDataDir }),
    extensions: { vector },
  });

  // The notifications of prepared runs come back past PGlite's own handling (see
  // pglite-prepared.ts), so they reach the listeners from here; those of PGlite's own
  // statements (scripts, BEGIN and COMMIT) reach them through `PGlite.listen`.
  const listeners = new Map<string, Set<(payload: string) => void>>();
  const hear = (channel: string, payload: string) => {
    for (const onPayload of listeners.get(channel) ?? []) queueMicrotask(() => onPayload(payload));
  };

  // Every statement of `query` and `batch` goes as a named prepared statement (see
  // pglite-prepared.ts); scripts go as PGlite sends them, and may change what a plan assumed.
  const prepared = createPreparedStatements(pg, { onNotification: hear });
  const execForgetting = async (run: () => Promise<unknown>) => {
    try {
      await run();
    } finally {
      prepared.forget();
    }
  };
  const top: Queryable = {
    query: (text, params = []) => prepared.query(text, params, 'alone'),
    exec: (script) => execForgetting(() => pg.exec(script)),
  };
  const inTransaction = (tx: Transaction): Queryable => ({
    query(text, params = []) {
      if (tx.closed) return Promise.reject(new Error(TRANSACTION_CLOSED));
      return prepared.query(text, params, 'in-transaction');
    },
    exec: (script) => execForgetting(() => tx.exec(script)),
  });

  // Autovacuum's work, which PGlite has no process for. A round that fails (the database
  // closing under it, say) is left to the next one.
  // Limitation: nothing reports a failed round or table; this thread has no logger, and the
  // next round tries again.
  const maintenanceIntervalMs = options.maintenanceIntervalMs ?? MAINTENANCE_INTERVAL_MS;
  let maintaining = false;
  const maintenance =
    maintenanceIntervalMs > 0
      ? setInterval(() => {
          if (maintaining || pg.closed) return;
          maintaining = true;
          maintainTables(top)
            .catch(() => {})
            .finally(() => {
              maintaining = false;
            });
        }, maintenanceIntervalMs)
      : undefined;
  maintenance?.unref();

  return {
    driver: 'pglite',
    ...top,

    transaction: (work) => pg.transaction((tx) => work(inTransaction(tx))),

    // One call into the backend for the whole batch, in the implicit transaction of its sync.
    batch: (statements) => prepared.batch(statements),

    async listen(channel, onPayload) {
      // A channel named as Postgres names it: unquoted names are folded to lower case.
      const name = /^".*"$/.test(channel) ? channel.slice(1, -1) : channel.toLowerCase();
      const unlisten = await pg.listen(channel, onPayload);
      // Its own function, so that the same callback listening twice is heard twice.
      const onRun = (payload: string) => onPayload(payload);
      const heard = listeners.get(name) ?? new Set();
      heard.add(onRun);
      listeners.set(name, heard);
      return async () => {
        heard.delete(onRun);
        if (heard.size === 0 && listeners.get(name) === heard) listeners.delete(name);
        await unlisten();
      };
    },

    async notify(channel, payload) {
      await pg.query('select pg_notify($1, $2)', [channel, payload]);
    },

    async close() {
      clearInterval(maintenance);
      if (!pg.closed) await pg.close();
    },

    dump: async () => await pg.dumpDataDir('gzip'),
  };
}
