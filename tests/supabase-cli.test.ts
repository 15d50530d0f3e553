// The real Supabase CLI against databases Kai migrated, and Kai against a database the CLI
// migrated: both must agree about what is applied, and the CLI's linter must find no errors.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations, type Migration } from '../core/db/migrations/load-migrations.ts';
import { bootstrapSupabase, runMigrations } from '../core/db/migrations/run-migrations.ts';
import { createLogger } from '../core/logging/logger.ts';
import { MIGRATIONS_DIR, REPO_ROOT } from './helpers/migrations-dir.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

const SUPABASE_BIN = join(REPO_ROOT, 'node_modules', '.bin', 'supabase');
const CLI_TIMEOUT_MS = 120_000;
const TEST_TIMEOUT_MS = 3 * CLI_TIMEOUT_MS;

const logger = createLogger({ level: 'silent' });
const opened: TestDatabase[] = [];
let migrations: Migration[] = [];

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the Supabase CLI in the repository, where it finds `supabase/migrations`. Resolves with
 * the exit code and output whatever the code, so that a failing test shows what the CLI said.
 */
function supabase(args: string[]): Promise<CliRun> {
  // `--agent no`: the CLI answers in JSON when it believes an AI agent runs it.
  const argv = [...args, '--agent', 'no'];

  return new Promise((resolve, reject) => {
    execFile(
      SUPABASE_BIN,
      argv,
      { cwd: REPO_ROOT, timeout: CLI_TIMEOUT_MS, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          reject(new Error(`supabase ${args[0]} ${args[1]} did not run: ${error.message}`));
          return;
        }
        resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
      },
    );
  });
}

/** The database's URL as the CLI needs it: the local server speaks no TLS. */
function cliUrl(testDb: TestDatabase): string {
  if (!testDb.url) throw new Error('the real Postgres leg gave a test database without a URL');
  const url = new URL(testDb.url);
  url.searchParams.set('sslmode', 'disable');
  return url.toString();
}

function said(run: CliRun): string {
  return `exit ${run.code}\n--- stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr}`;
}

/** The rows of `migration list`'s table as `{ local, remote }`, without the CLI's backticks. */
function migrationTable(stdout: string): { local: string; remote: string }[] {
  return stdout
    .split('\n')
    .filter((line) => line.includes('|'))
    .map((line) => line.split('|').map((cell) => cell.replaceAll('`', '').trim()))
    .filter(([local]) => local !== 'Local' && !/^-+$/.test(local ?? ''))
    .map(([local = '', remote = '']) => ({ local, remote }));
}

async function historyVersions(testDb: TestDatabase): Promise<string[]> {
  const rows = await testDb.db.query<{ version: string }>(
    'select version from supabase_migrations.schema_migrations order by version',
  );
  return rows.map((row) => row.version);
}

async function emptyDatabase(): Promise<TestDatabase> {
  const testDb = await createTestDatabase({ empty: true });
  opened.push(testDb);
  return testDb;
}

async function dropAll(): Promise<void> {
  await Promise.all(opened.splice(0).map((testDb) => testDb.drop()));
}

beforeAll(async () => {
  migrations = await loadMigrations(MIGRATIONS_DIR);
});

afterEach(dropAll);
afterAll(dropAll);

describe.skipIf(!process.env.DATABASE_URL)('the Supabase CLI and Kai on one database', () => {
  it(
    'lists every migration Kai applied as applied remotely, and `migration up` adds nothing',
    async () => {
      const testDb = await emptyDatabase();
      await runMigrations(testDb.db, migrations, logger);
      const versions = migrations.map((m) => m.version);

      const list = await supabase(['migration', 'list', '--db-url', cliUrl(testDb)]);
      expect(list.code, said(list)).toBe(0);
      expect(migrationTable(list.stdout), said(list)).toEqual(
        versions.map((version) => ({ local: version, remote: version })),
      );

      const up = await supabase(['migration', 'up', '--db-url', cliUrl(testDb)]);
      expect(up.code, said(up)).toBe(0);
      expect(up.stdout + up.stderr).toContain('up to date');
      expect(up.stderr).not.toContain('Applying migration');
      expect(await historyVersions(testDb)).toEqual(versions);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'applies nothing itself after `supabase migration up` applied every file on the bootstrap',
    async () => {
      const testDb = await emptyDatabase();
      await bootstrapSupabase(testDb.db);

      const up = await supabase(['migration', 'up', '--db-url', cliUrl(testDb)]);
      expect(up.code, said(up)).toBe(0);
      expect(await historyVersions(testDb)).toEqual(migrations.map((m) => m.version));

      const run = await runMigrations(testDb.db, migrations, logger);

      expect(run).toEqual({ applied: [], alreadyApplied: migrations.length });
      const [jobs] = await testDb.db.query<{ name: string | null }>(
        `select to_regclass('public.jobs')::text as name`,
      );
      expect(jobs?.name).toBe('jobs');
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'finds no errors with `supabase db lint` on a database Kai migrated',
    async () => {
      const testDb = await emptyDatabase();
      await runMigrations(testDb.db, migrations, logger);

      // `--fail-on error`: without it the linter exits 0 whatever it finds.
      const lint = await supabase([
        'db',
        'lint',
        '--db-url',
        cliUrl(testDb),
        '--fail-on',
        'error',
        '--output-format',
        'json',
      ]);

      if (lint.code !== 0 && `${lint.stdout}${lint.stderr}`.includes('plpgsql_check')) {
        throw new Error(
          'supabase db lint needs the plpgsql_check extension on the test server; install the ' +
            `Debian package postgresql-<major>-plpgsql-check (postgresql-15-plpgsql-check ` +
            `here).\n${said(lint)}`,
        );
      }
      expect(lint.code, said(lint)).toBe(0);

      const { results } = JSON.parse(lint.stdout) as {
        results: { function: string; issues: { level: string; message: string }[] }[];
      };
      const errors = results.flatMap((result) =>
        result.issues
          .filter((issue) => issue.level === 'error')
          .map((issue) => `${result.function}: ${issue.message}`),
      );
      expect(errors).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );
});
