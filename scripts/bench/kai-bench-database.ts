import { fileURLToPath } from 'node:url';
import type { Database } from '../../core/db/database.ts';
import { loadMigrations } from '../../core/db/migrations/load-migrations.ts';
import { runMigrations } from '../../core/db/migrations/run-migrations.ts';
import { createPgliteDatabase } from '../../core/db/pglite-database.ts';
import { createPostgresDatabase } from '../../core/db/postgres-database.ts';
import { createLogger } from '../../core/logging/logger.ts';
import { createScratchDatabase } from './scratch-database.ts';

const MIGRATIONS_DIR = fileURLToPath(new URL('../../supabase/migrations', import.meta.url));

/** A migrated Kai database of one benchmark run; `close()` also drops a server database. */
export interface KaiBenchDatabase {
  db: Database;
  /** Where it lives, for the log: `pglite (in memory)` or the scratch database's name. */
  where: string;
  close(): Promise<void>;
}

/**
 * Opens a fresh database and brings it up to date with Kai's own migrations: its own database
 * on the server at `serverUrl`, or an in-memory PGlite when no server is given.
 */
export async function openKaiBenchDatabase(
  serverUrl: string | undefined,
  options: { label: string; poolMax: number },
): Promise<KaiBenchDatabase> {
  const logger = createLogger({ level: 'silent' });
  const migrations = await loadMigrations(MIGRATIONS_DIR);

  if (serverUrl === undefined) {
    const db = await createPgliteDatabase();
    await runMigrations(db, migrations, logger);
    return { db, where: 'pglite (in memory)', close: () => db.close() };
  }

  const scratch = await createScratchDatabase(serverUrl, options.label);
  const db = createPostgresDatabase({
    url: scratch.url,
    poolMax: options.poolMax,
    connectTimeoutMs: 5000,
    prepare: true,
    logger,
    applicationName: `kai-bench-${options.label}`,
  });
  try {
    await runMigrations(db, migrations, logger);
  } catch (error) {
    await db.close();
    await scratch.drop();
    throw error;
  }

  return {
    db,
    where: scratch.name,
    async close() {
      await db.close();
      await scratch.drop();
    },
  };
}
