import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { inject } from 'vitest';
import type { Database, Queryable } from '../../core/db/database.ts';
import { createPgliteDatabase } from '../../core/db/pglite-database.ts';
import { adminSql, databaseUrl, openServerDatabase } from './server-databases.ts';

/** A database of this test file's own, dropped by `drop()`. */
export interface TestDatabase {
  db: Database;
  driver: 'postgres' | 'pglite';
  /** The URL of this database on the real Postgres leg; undefined on PGlite. */
  url: string | undefined;
  /** Opens another connection pool to the same database (real Postgres leg only). */
  connect(): Database;
  drop(): Promise<void>;
}

/**
 * Creates an isolated database for one test file: a copy of the migrated template, or with
 * `{ empty: true }` a database nothing has touched, for tests of the migrations themselves.
 */
export async function createTestDatabase(options: { empty?: boolean } = {}): Promise<TestDatabase> {
  const template = inject('kaiTemplate');

  if (template.driver === 'pglite') {
    const loadDataDir = options.empty
      ? undefined
      : new Blob([new Uint8Array(await readFile(template.dumpPath))]);
    const db = await createPgliteDatabase(loadDataDir ? { loadDataDir } : {});
    return {
      db,
      driver: 'pglite',
      url: undefined,
      connect: () => {
        throw new Error('PGlite has one connection; this test needs the real Postgres leg.');
      },
      drop: () => db.close(),
    };
  }

  const name = `kai_t_${randomBytes(6).toString('hex')}`;
  const admin = adminSql(template.serverUrl);
  await admin.unsafe(
    options.empty
      ? `create database ${name}`
      : `create database ${name} template ${template.template}`,
  );

  const opened: Database[] = [];
  const connect = () => {
    const db = openServerDatabase(template.serverUrl, name);
    opened.push(db);
    return db;
  };

  return {
    db: connect(),
    driver: 'postgres',
    url: databaseUrl(template.serverUrl, name),
    connect,
    drop: async () => {
      await Promise.all(opened.map((db) => db.close()));
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}

/** Runs `work` as the API role `authenticated` with the claims of user `sub`, as PostgREST does. */
export function asUser<T>(
  db: Database,
  sub: string,
  work: (tx: Queryable) => Promise<T>,
): Promise<T> {
  return asRole(db, 'authenticated', { sub, role: 'authenticated' }, work);
}

/** Runs `work` as `role` with the given JWT claims set for the transaction. */
export function asRole<T>(
  db: Database,
  role: 'anon' | 'authenticated' | 'service_role',
  claims: Record<string, unknown>,
  work: (tx: Queryable) => Promise<T>,
): Promise<T> {
  return db.transaction(async (tx) => {
    await tx.query(`select set_config('request.jwt.claims', $1, true)`, [JSON.stringify(claims)]);
    await tx.exec(`set local role ${role}`);
    return await work(tx);
  });
}
