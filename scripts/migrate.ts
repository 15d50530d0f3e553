// `npm run db:migrate`: applies supabase/migrations to the configured database and exits, as
// `npm start` does before it serves. For Supabase projects `supabase db push` does the same.
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../core/config/load-config.ts';
import { loadMigrations } from '../core/db/migrations/load-migrations.ts';
import { runMigrations } from '../core/db/migrations/run-migrations.ts';
import { openDatabase } from '../core/db/open-database.ts';
import { StartupError } from '../core/errors.ts';
import { createLogger } from '../core/logging/logger.ts';
import { loadDotenv } from '../core/node/load-dotenv.ts';

const MIGRATIONS_DIR = fileURLToPath(new URL('../supabase/migrations', import.meta.url));

async function main(): Promise<void> {
  loadDotenv();
  const config = loadConfig(process.env);
  const logger = createLogger({ level: config.log.level });
  const db = await openDatabase(config.database, logger);

  try {
    const run = await runMigrations(db, await loadMigrations(MIGRATIONS_DIR), logger);
    logger.info(
      { applied: run.applied, alreadyApplied: run.alreadyApplied },
      'database is up to date',
    );
  } finally {
    await db.close();
  }
}

main().catch((error: unknown) => {
  if (error instanceof StartupError) process.stderr.write(`${error.message}\n`);
  else process.stderr.write(`Kai failed to migrate: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
