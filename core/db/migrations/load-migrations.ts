import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StartupError } from '../../errors.ts';

/** One file of `supabase/migrations`, named `<version>_<name>.sql` as the Supabase CLI wants. */
export interface Migration {
  /** The timestamp prefix, `YYYYMMDDHHmmss`; migrations apply in its order. */
  version: string;
  name: string;
  sql: string;
}

const MIGRATION_FILE = /^(\d{14})_([a-z0-9_]+)\.sql$/;

/**
 * Reads the migrations folder in version order. A `.sql` file whose name does not follow the
 * pattern, or two files with one version, stop start-up: either would make Kai and the
 * Supabase CLI disagree about what is applied.
 */
export async function loadMigrations(dir: string): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((file) => file.endsWith('.sql')).sort();
  const migrations: Migration[] = [];

  for (const file of files) {
    const match = MIGRATION_FILE.exec(file);
    if (!match) {
      throw new StartupError(
        `Kai cannot start: the migration ${file} in ${dir} is not named ` +
          '<14-digit timestamp>_<lowercase_name>.sql; rename it.',
      );
    }

    const [, version = '', name = ''] = match;
    if (migrations.some((m) => m.version === version)) {
      throw new StartupError(
        `Kai cannot start: two migrations in ${dir} share the version ${version}; renumber one.`,
      );
    }

    migrations.push({ version, name, sql: await readFile(join(dir, file), 'utf8') });
  }

  return migrations;
}
