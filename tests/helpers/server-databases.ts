import postgres from 'postgres';
import type { Database } from '../../core/db/database.ts';
import { createPostgresDatabase } from '../../core/db/postgres-database.ts';
import { createLogger } from '../../core/logging/logger.ts';

/** A one-connection client on the server's maintenance database, for CREATE/DROP DATABASE. */
export function adminSql(serverUrl: string): postgres.Sql {
  return postgres(serverUrl, { max: 1, onnotice: () => {} });
}

/** `serverUrl` with its database name replaced. */
export function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/** Opens Kai's server driver on one database of the server, logging nothing. */
export function openServerDatabase(serverUrl: string, database: string): Database {
  return createPostgresDatabase({
    url: databaseUrl(serverUrl, database),
    poolMax: 5,
    connectTimeoutMs: 5000,
    prepare: true,
    logger: createLogger({ level: 'silent' }),
  });
}
