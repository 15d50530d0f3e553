// Builds one migrated template per test run, so each test file can get a fresh copy quickly:
// a template database on the real Postgres (DATABASE_URL set), a data-dir tarball on PGlite.
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { loadMigrations } from '../../core/db/migrations/load-migrations.ts';
import { runMigrations } from '../../core/db/migrations/run-migrations.ts';
import { createPgliteDatabase } from '../../core/db/pglite-database.ts';
import { createLogger } from '../../core/logging/logger.ts';
import { MIGRATIONS_DIR } from './migrations-dir.ts';
import { adminSql, openServerDatabase } from './server-databases.ts';

export type TemplateInfo =
  | { driver: 'postgres'; serverUrl: string; template: string }
  | { driver: 'pglite'; dumpPath: string };

declare module 'vitest' {
  export interface ProvidedContext {
    kaiTemplate: TemplateInfo;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const logger = createLogger({ level: 'silent' });
  const migrations = await loadMigrations(MIGRATIONS_DIR);
  const serverUrl = process.env.DATABASE_URL;

  if (serverUrl) {
    const template = `kai_tpl_${process.pid}`;
    const admin = adminSql(serverUrl);
    await admin.unsafe(`drop database if exists ${template} with (force)`);
    await admin.unsafe(`create database ${template}`);

    const db = openServerDatabase(serverUrl, template);
    await runMigrations(db, migrations, logger);
    await db.close();

    project.provide('kaiTemplate', { driver: 'postgres', serverUrl, template });
    return async () => {
      await admin.unsafe(`drop database if exists ${template} with (force)`);
      await admin.end();
    };
  }

  const db = await createPgliteDatabase();
  await runMigrations(db, migrations, logger);
  const dumpPath = join(tmpdir(), `kai-template-${process.pid}.tar.gz`);
  await writeFile(dumpPath, Buffer.from(await (await db.dump()).arrayBuffer()));
  await db.close();

  project.provide('kaiTemplate', { driver: 'pglite', dumpPath });
  return async () => rm(dumpPath, { force: true });
}
