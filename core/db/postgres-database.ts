import postgres from 'postgres';
import type { Logger } from '../logging/logger.ts';
import type { Database, Queryable } from './database.ts';

export interface PostgresDatabaseOptions {
  url: string;
  poolMax: number;
  connectTimeoutMs: number;
  /** Off for Supabase's transaction pooler, which cannot keep prepared statements. */
  prepare: boolean;
  logger: Logger;
  /** Shown in `pg_stat_activity`, so operators can tell Kai's connections apart. */
  applicationName?: string;
}

const INT8_OID = 20;

/** Parses `bigint` as a number when it is safe, as PGlite does, so both drivers agree. */
function parseInt8(text: string): number | bigint {
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : BigInt(text);
}

/**
 * The server driver, on the `postgres` client: local Postgres, Supabase's direct connection or
 * its transaction pooler.
 *
 * Limitation: `listen` needs a session; through the transaction pooler (port 6543) LISTEN is
 * not delivered, so a pool there falls back to its polling interval.
 */
export function createPostgresDatabase(options: PostgresDatabaseOptions): Database {
  const sql = postgres(options.url, {
    max: options.poolMax,
    connect_timeout: Math.max(1, Math.ceil(options.connectTimeoutMs / 1000)),
    prepare: options.prepare,
    onnotice: (notice) => options.logger.debug({ notice: notice.message }, 'postgres notice'),
    connection: { application_name: options.applicationName ?? 'kai' },
    types: {
      int8: { to: INT8_OID, from: [INT8_OID], serialize: String, parse: parseInt8 },
    },
  });

  const queryableOf = (client: postgres.Sql | postgres.TransactionSql): Queryable => ({
    async query<Row extends object>(text: string, params: readonly unknown[] = []) {
      const rows = await client.unsafe(text, params as postgres.ParameterOrJSON<never>[], {
        prepare: options.prepare && params.length > 0,
      });
      return rows as unknown as Row[];
    },
    async exec(script: string) {
      await client.unsafe(script).simple();
    },
  });

  return {
    driver: 'postgres',
    ...queryableOf(sql),

    async transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
      return (await sql.begin((tx) => work(queryableOf(tx)))) as T;
    },

    async batch(statements) {
      if (statements.length === 0) return [];
      const results = await sql.batch(
        statements.map(({ text, params = [] }) =>
          sql.unsafe(text, params as postgres.ParameterOrJSON<never>[], {
            prepare: options.prepare && params.length > 0,
          }),
        ),
      );
      return results as unknown as Record<string, unknown>[][];
    },

    async listen(channel, onPayload) {
      const subscription = await sql.listen(channel, onPayload);
      return () => subscription.unlisten();
    },

    async notify(channel, payload) {
      await sql.notify(channel, payload);
    },

    async close() {
      await sql.end({ timeout: 5 });
    },
  };
}
