import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { callerScope } from '../core/auth/user-scope.ts';
import type { Queryable } from '../core/db/database.ts';
import { loadMigrations } from '../core/db/migrations/load-migrations.ts';
import { runMigrations } from '../core/db/migrations/run-migrations.ts';
import { createPgliteDatabase } from '../core/db/pglite-database.ts';
import { openPgliteEngine, type PgliteDatabase } from '../core/db/pglite-engine.ts';
import { AUTOVACUUM_THRESHOLDS, maintainTables } from '../core/db/pglite-maintenance.ts';
import { createLogger } from '../core/logging/logger.ts';
import { planEnqueue } from '../core/queue/enqueue.ts';
import { MIGRATIONS_DIR } from './helpers/migrations-dir.ts';

// PGlite has no autovacuum: these show that Kai's embedded database does its work, by
// Postgres's own rule, and what that changes for a statement planned while a table was small.

const opened: PgliteDatabase[] = [];
afterEach(async () => {
  for (const db of opened.splice(0)) await db.close();
});

async function engine(): Promise<PgliteDatabase> {
  const db = await openPgliteEngine({ maintenanceIntervalMs: 0 });
  opened.push(db);
  return db;
}

async function statsOf(db: Queryable, table: string) {
  await db.query('select pg_stat_force_next_flush()');
  const [row] = await db.query<{
    n_dead_tup: number;
    n_mod_since_analyze: number;
    analyzed: boolean;
    vacuumed: boolean;
  }>(
    `select n_dead_tup::int, n_mod_since_analyze::int, last_analyze is not null as analyzed,
            last_vacuum is not null as vacuumed
       from pg_stat_user_tables where relname = $1`,
    [table],
  );
  return row;
}

describe('maintainTables', () => {
  it('has a read of a job planned while the table was small plan again once it grew', async () => {
    const db = await engine();
    await runMigrations(
      db,
      await loadMigrations(MIGRATIONS_DIR),
      createLogger({ level: 'silent' }),
    );
    const caller = JSON.stringify({ sub: randomUUID(), role: 'authenticated' });
    const spec = { type: 'noop', payload: {}, ownerId: JSON.parse(caller).sub, queue: 'default' };
    const submit = (count: number) =>
      db.batch([
        callerScope(caller),
        planEnqueue(Array.from({ length: count }, () => spec)).insert,
      ]);
    const [, [first]] = (await submit(1)) as [unknown, { id: string }[]];

    // The job reader's statement, read as its owner under RLS, past the five runs after which
    // Postgres keeps one generic plan: made for a table of one job.
    await db.exec('prepare find_job (uuid) as select * from public.jobs where id = $1');
    const asCaller = (sql: string) =>
      db.transaction(async (tx) => {
        const scope = callerScope(caller);
        await tx.query(scope.text, scope.params);
        return await tx.query<{ 'QUERY PLAN'?: string }>(sql);
      });
    for (let i = 0; i < 6; i++) await asCaller(`execute find_job('${first?.id}')`);
    for (let i = 0; i < 100; i++) await submit(100);

    const planOf = async () =>
      (await asCaller(`explain execute find_job('${first?.id}')`))
        .map((row) => row['QUERY PLAN'])
        .join('\n');
    // The owner's index, on which RLS's owner and the id both fit: all 10,001 jobs are the
    // owner's, so this plan walks them all to find one.
    expect(await planOf()).toMatch(/using jobs_owner_created_id_idx/);

    const round = await maintainTables(db);
    expect(round.analyzed).toContain('public.jobs');
    expect(await planOf()).toMatch(/using jobs_pkey/);
  });

  it('vacuums and analyzes by autovacuum’s thresholds, and leaves the rest', async () => {
    const db = await engine();
    const t = AUTOVACUUM_THRESHOLDS;
    await db.exec(`
      create table busy (id int primary key, v int);
      create table quiet (id int primary key, v int);
      create table opted_out (id int primary key, v int) with (autovacuum_enabled = false);`);
    // Under every threshold: fewer changed rows than the base thresholds.
    const few = Math.min(t.analyzeThreshold, t.vacuumThreshold) - 10;
    await db.query('insert into quiet select g, 0 from generate_series(1, $1::int) g', [few]);
    // Past them: a table with many rows inserted, then half of them updated.
    for (const table of ['busy', 'opted_out']) {
      await db.query(`insert into ${table} select g, 0 from generate_series(1, 4000) g`);
    }
    await maintainTables(db);
    for (const table of ['busy', 'opted_out']) {
      await db.exec(`update ${table} set v = 1 where id <= 2000`);
    }

    const before = await statsOf(db, 'busy');
    // 2000 dead rows against 50 + 0.2 * 4000 = 850; 2000 changed against 50 + 0.1 * 4000.
    expect(before?.n_dead_tup).toBe(2000);
    expect(before?.n_mod_since_analyze).toBe(2000);

    const round = await maintainTables(db);
    expect(round).toEqual({ vacuumed: ['public.busy'], analyzed: ['public.busy'], failed: [] });
    expect(await statsOf(db, 'busy')).toMatchObject({ n_dead_tup: 0, n_mod_since_analyze: 0 });
    expect(await statsOf(db, 'quiet')).toMatchObject({ analyzed: false, vacuumed: false });
    expect(await statsOf(db, 'opted_out')).toMatchObject({
      n_dead_tup: 2000,
      analyzed: false,
      vacuumed: false,
    });

    // Nothing changed since: nothing is due.
    expect(await maintainTables(db)).toEqual({ vacuumed: [], analyzed: [], failed: [] });
  });

  it('finds a table only past the analyze threshold, not at it', async () => {
    const db = await engine();
    await db.exec('create table edge (id int primary key)');
    const threshold = AUTOVACUUM_THRESHOLDS.analyzeThreshold;
    await db.query('insert into edge select g from generate_series(1, $1::int) g', [threshold]);
    expect((await maintainTables(db)).analyzed).toEqual([]);
    await db.exec(`insert into edge values (${threshold + 1})`);
    expect((await maintainTables(db)).analyzed).toEqual(['public.edge']);
  });

  it('quotes table names that need it', async () => {
    const db = await engine();
    await db.exec(`create schema "Odd Schema"; create table "Odd Schema"."Mixed Case" (id int)`);
    await db.query(`insert into "Odd Schema"."Mixed Case" select generate_series(1, 2000)`);
    const round = await maintainTables(db);
    expect(round.failed).toEqual([]);
    expect(round.analyzed).toEqual(['"Odd Schema"."Mixed Case"']);
  });
});

describe('the embedded database', () => {
  it('runs the maintenance on its own thread, on its interval', async () => {
    const db = await createPgliteDatabase({ maintenanceIntervalMs: 20 });
    try {
      await db.exec('create table grown (id int primary key)');
      await db.query('insert into grown select generate_series(1, 5000)');
      // Polled, not timed: the first rounds after the insert analyze the table.
      let analyzed = false;
      for (let i = 0; i < 250 && !analyzed; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        const [row] = await db.query<{ analyzed: boolean }>(
          `select last_analyze is not null as analyzed from pg_stat_user_tables
            where relname = 'grown'`,
        );
        analyzed = row?.analyzed === true;
      }
      expect(analyzed).toBe(true);
    } finally {
      await db.close();
    }
  });
});
