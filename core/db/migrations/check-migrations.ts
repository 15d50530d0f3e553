import { StartupError } from '../../errors.ts';
import type { Queryable } from '../database.ts';
import type { Migration } from './load-migrations.ts';

/**
 * For processes that use the schema but do not own it (the standalone pool): fails with a
 * clear `StartupError` unless every migration this code knows is applied.
 */
export async function assertMigrationsApplied(
  db: Queryable,
  migrations: readonly Migration[],
): Promise<void> {
  let applied: Set<string>;
  try {
    const rows = await db.query<{ version: string }>(
      'select version from supabase_migrations.schema_migrations',
    );
    applied = new Set(rows.map((r) => r.version));
  } catch (error) {
    throw new StartupError(
      'Kai cannot start: the database has no migration history. Apply the migrations first ' +
        '(`npx supabase db push` or `npm run db:migrate`).',
      { cause: error },
    );
  }

  const missing = migrations.filter((m) => !applied.has(m.version));
  if (missing.length > 0) {
    const names = missing.map((m) => `${m.version}_${m.name}`).join(', ');
    throw new StartupError(
      `Kai cannot start: the database lacks the migrations ${names}. Apply them first ` +
        '(`npx supabase db push` or `npm run db:migrate`).',
    );
  }
}
