import { readFile } from 'node:fs/promises';
import { StartupError } from '../../errors.ts';
import type { Logger } from '../../logging/logger.ts';
import type { Database, Queryable } from '../database.ts';
import type { Migration } from './load-migrations.ts';

/** Serialises migration runs of several processes on one database (any constant will do). */
const MIGRATION_LOCK_KEY = 7_406_211_001;

const BOOTSTRAP_SQL_URL = new URL('./supabase-bootstrap.sql', import.meta.url);

/**
 * The Supabase CLI's own history table, created as the CLI creates it, so that
 * `supabase migration list` and `supabase migration up` agree with Kai about what is applied.
 */
const HISTORY_DDL = `
  create schema if not exists supabase_migrations;
  create table if not exists supabase_migrations.schema_migrations (
    version text not null primary key,
    statements text[],
    name text
  );
`;

export interface MigrationRun {
  applied: string[];
  alreadyApplied: number;
}

/** Creates, where missing, what Supabase provides: API roles, `auth`, the realtime publication. */
export async function bootstrapSupabase(db: Database): Promise<void> {
  const sql = await readFile(BOOTSTRAP_SQL_URL, 'utf8');
  await inMigrationLock(db, (tx) => tx.exec(sql));
}

/** Runs `work` in a transaction that holds the database's migration lock. */
function inMigrationLock<T>(db: Database, work: (tx: Queryable) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    await tx.query('select pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    return await work(tx);
  });
}

/**
 * Brings the database up to date: the Supabase bootstrap, then each migration not yet recorded,
 * in version order, each in its own transaction together with its history row. A migration that
 * fails rolls back whole and stops the run, so nothing is ever half-applied. Safe to call from
 * several processes at once: each migration is applied by exactly one of them.
 */
export async function runMigrations(
  db: Database,
  migrations: readonly Migration[],
  logger: Logger,
): Promise<MigrationRun> {
  await bootstrapSupabase(db);
  await inMigrationLock(db, (tx) => tx.exec(HISTORY_DDL));

  const run: MigrationRun = { applied: [], alreadyApplied: 0 };
  for (const migration of migrations) {
    const startedAt = performance.now();
    const applied = await applyOne(db, migration);

    if (applied) {
      run.applied.push(migration.version);
      const durationMs = Math.round(performance.now() - startedAt);
      logger.info({ migration: `${migration.version}_${migration.name}`, durationMs }, 'migrated');
    } else {
      run.alreadyApplied += 1;
    }
  }

  await warnAboutUnknownVersions(db, migrations, logger);
  return run;
}

/**
 * Applies one migration with its history row in one transaction, unless another process already
 * did. Returns whether this call applied it. A failure is a `StartupError` naming the file.
 */
async function applyOne(db: Database, migration: Migration): Promise<boolean> {
  try {
    return await inMigrationLock(db, async (tx) => {
      const done = await tx.query(
        'select 1 from supabase_migrations.schema_migrations where version = $1',
        [migration.version],
      );
      if (done.length > 0) return false;

      await tx.exec(migration.sql);
      // Limitation: the CLI records each statement of a file separately; Kai records the whole
      // file as one. `migration list` and `migration up` compare versions only.
      await tx.query(
        `insert into supabase_migrations.schema_migrations (version, name, statements)
         values ($1, $2, array[$3::text])`,
        [migration.version, migration.name, migration.sql],
      );
      return true;
    });
  } catch (error) {
    throw new StartupError(
      `Kai cannot start: migration ${migration.version}_${migration.name}.sql failed and was ` +
        `rolled back (${(error as Error).message}). Fix the migration and start again.`,
      { cause: error },
    );
  }
}

/** A database ahead of this code (a rollback) still starts, but an operator should know. */
async function warnAboutUnknownVersions(
  db: Database,
  migrations: readonly Migration[],
  logger: Logger,
): Promise<void> {
  const rows = await db.query<{ version: string }>(
    'select version from supabase_migrations.schema_migrations order by version',
  );
  const known = new Set(migrations.map((m) => m.version));
  const unknown = rows.map((r) => r.version).filter((v) => !known.has(v));
  if (unknown.length > 0) {
    logger.warn({ versions: unknown }, 'the database has migrations this code does not know');
  }
}
