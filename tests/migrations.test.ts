import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadMigrations, type Migration } from '../core/db/migrations/load-migrations.ts';
import { runMigrations } from '../core/db/migrations/run-migrations.ts';
import { StartupError } from '../core/errors.ts';
import { createLogger } from '../core/logging/logger.ts';
import { MIGRATIONS_DIR } from './helpers/migrations-dir.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

const logger = createLogger({ level: 'silent' });
const opened: TestDatabase[] = [];

async function emptyDatabase(): Promise<TestDatabase> {
  const testDb = await createTestDatabase({ empty: true });
  opened.push(testDb);
  return testDb;
}

async function migrationsDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kai-migrations-'));
  for (const [name, sql] of Object.entries(files)) await writeFile(join(dir, name), sql);
  return dir;
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((testDb) => testDb.drop()));
});

describe('loadMigrations', () => {
  it('reads the files in version order', async () => {
    const dir = await migrationsDir({
      '20260102000000_second.sql': 'select 2;',
      '20260101000000_first.sql': 'select 1;',
      'README.md': 'not a migration',
    });

    const migrations = await loadMigrations(dir);

    expect(migrations.map((m) => [m.version, m.name])).toEqual([
      ['20260101000000', 'first'],
      ['20260102000000', 'second'],
    ]);
  });

  it.each([
    ['2026_bad.sql', 'is not named'],
    ['20260101000000_Upper Case.sql', 'is not named'],
  ])('refuses the file name %s', async (name, expected) => {
    const dir = await migrationsDir({ [name]: 'select 1;' });

    await expect(loadMigrations(dir)).rejects.toThrow(expected);
  });

  it('refuses two files with one version', async () => {
    const dir = await migrationsDir({
      '20260101000000_a.sql': 'select 1;',
      '20260101000000_b.sql': 'select 1;',
    });

    await expect(loadMigrations(dir)).rejects.toThrow('share the version 20260101000000');
  });
});

describe('runMigrations', () => {
  it('applies every migration once and records it where the Supabase CLI looks', async () => {
    const { db } = await emptyDatabase();
    const migrations = await loadMigrations(MIGRATIONS_DIR);

    const first = await runMigrations(db, migrations, logger);
    const second = await runMigrations(db, migrations, logger);

    expect(first.applied).toEqual(migrations.map((m) => m.version));
    expect(second).toEqual({ applied: [], alreadyApplied: migrations.length });
    const history = await db.query<{ version: string; name: string }>(
      'select version, name from supabase_migrations.schema_migrations order by version',
    );
    expect(history).toEqual(migrations.map(({ version, name }) => ({ version, name })));
  });

  it('creates what Supabase provides: API roles, auth functions, users, the publication', async () => {
    const { db } = await emptyDatabase();
    await runMigrations(db, [], logger);

    const roles = await db.query<{ rolname: string; rolbypassrls: boolean }>(
      `select rolname, rolbypassrls from pg_roles
       where rolname in ('anon', 'authenticated', 'service_role') order by rolname`,
    );
    expect(roles).toEqual([
      { rolname: 'anon', rolbypassrls: false },
      { rolname: 'authenticated', rolbypassrls: false },
      { rolname: 'service_role', rolbypassrls: true },
    ]);
    const objects = await db.query<{ users: string | null; publication: boolean }>(
      `select to_regclass('auth.users')::text as users,
              exists (select 1 from pg_publication where pubname = 'supabase_realtime') as publication`,
    );
    expect(objects).toEqual([{ users: 'auth.users', publication: true }]);
  });

  it('reads auth.uid(), auth.role() and auth.jwt() from the request claims as Supabase does', async () => {
    const { db } = await emptyDatabase();
    await runMigrations(db, [], logger);
    const sub = '6f1c2f0e-2b7a-4a36-9d1e-0f5e8a3c9b11';

    const [fromClaims] = await db.transaction(async (tx) => {
      const claims = JSON.stringify({ sub, role: 'authenticated', email: 'a@example.com' });
      await tx.query(`select set_config('request.jwt.claims', $1, true)`, [claims]);
      return await tx.query(
        `select auth.uid() as uid, auth.role() as role, auth.jwt() ->> 'email' as email`,
      );
    });
    const [fromLegacyClaim] = await db.transaction(async (tx) => {
      await tx.query(`select set_config('request.jwt.claim.sub', $1, true)`, [sub]);
      return await tx.query('select auth.uid() as uid');
    });
    const [withoutClaims] = await db.query('select auth.uid() as uid, auth.jwt() as jwt');

    expect(fromClaims).toEqual({ uid: sub, role: 'authenticated', email: 'a@example.com' });
    expect(fromLegacyClaim).toEqual({ uid: sub });
    expect(withoutClaims).toEqual({ uid: null, jwt: null });
  });

  it('rolls a failing migration back whole, names it, and keeps the ones before', async () => {
    const { db } = await emptyDatabase();
    const migrations: Migration[] = [
      { version: '20260101000000', name: 'good', sql: 'create table good (id int);' },
      {
        version: '20260102000000',
        name: 'broken',
        sql: 'create table half (id int); insert into half values (1); select * from missing;',
      },
    ];

    const failure = await runMigrations(db, migrations, logger).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(StartupError);
    expect((failure as Error).message).toContain('20260102000000_broken.sql failed');
    const [state] = await db.query(
      `select to_regclass('public.good')::text as good, to_regclass('public.half')::text as half,
              array(select version from supabase_migrations.schema_migrations) as versions`,
    );
    expect(state).toEqual({ good: 'good', half: null, versions: ['20260101000000'] });
  });

  it('applies each migration exactly once when several processes start together', async (ctx) => {
    const testDb = await emptyDatabase();
    if (testDb.driver === 'pglite') ctx.skip(); // one connection: nothing to race
    const migrations = await loadMigrations(MIGRATIONS_DIR);

    const runs = await Promise.all(
      Array.from({ length: 4 }, () => runMigrations(testDb.connect(), migrations, logger)),
    );

    const appliedByAll = runs.flatMap((run) => run.applied).sort();
    expect(appliedByAll).toEqual(migrations.map((m) => m.version));
  });
});
