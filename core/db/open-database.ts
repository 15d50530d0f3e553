import { join } from 'node:path';
import type { KaiConfig } from '../config/load-config.ts';
import { StartupError } from '../errors.ts';
import type { Logger } from '../logging/logger.ts';
import { lockDataDir } from './data-dir-lock.ts';
import type { Database } from './database.ts';
import { describeDatabaseUrl } from './describe-database-url.ts';
import { createPgliteDatabase } from './pglite-database.ts';
import { createPostgresDatabase } from './postgres-database.ts';

/**
 * Opens the database the config names and proves that it answers. `DATABASE_URL` picks the
 * server driver; without it Kai uses PGlite under `KAI_DATA_DIR`, locked for this process.
 * Every failure is a `StartupError` with a one-line message; nothing is left open.
 */
export async function openDatabase(
  config: KaiConfig['database'],
  logger: Logger,
  onLost: (error: Error) => void = () => {},
): Promise<Database> {
  if (config.driver === 'postgres') return await openPostgres(config, logger);

  const unlock = await lockDataDir(config.dataDir, onLost);
  let db: Database;
  try {
    db = await createPgliteDatabase({ dataDir: join(config.dataDir, 'pglite') });
  } catch (error) {
    await unlock();
    throw new StartupError(
      `Kai cannot start: the embedded database in ${config.dataDir} cannot be opened ` +
        `(${(error as Error).message}). Move the folder aside to start afresh.`,
      { cause: error },
    );
  }

  logger.info({ driver: 'pglite', dataDir: config.dataDir }, 'database opened');
  return {
    ...db,
    async close() {
      await db.close();
      await unlock();
    },
  };
}

async function openPostgres(
  config: Extract<KaiConfig['database'], { driver: 'postgres' }>,
  logger: Logger,
): Promise<Database> {
  const where = describeDatabaseUrl(config.url);
  const db = createPostgresDatabase({ ...config, logger });

  try {
    await db.query('select 1');
  } catch (error) {
    await db.close().catch(() => {});
    throw new StartupError(
      `Kai cannot reach the database at ${where}: ${reasonOf(error)}. Check DATABASE_URL and ` +
        'that the server is running.',
      { cause: error },
    );
  }

  logger.info({ driver: 'postgres', database: where, prepare: config.prepare }, 'database opened');
  return db;
}

function reasonOf(error: unknown): string {
  const { code, message } = error as { code?: string; message?: string };
  if (code === 'ECONNREFUSED') return 'the connection was refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'the host name does not resolve';
  if (code === 'CONNECT_TIMEOUT' || code === 'ETIMEDOUT') return 'the connection timed out';
  return message ?? String(error);
}
