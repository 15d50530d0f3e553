// asCaller: work runs as role authenticated with the caller's claims, in one transaction,
// and nothing of it (role, claims, writes of a failed run) outlives that transaction.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Auth } from '../core/auth/caller.ts';
import { asCaller } from '../core/auth/user-scope.ts';
import { findJobAsCaller } from '../core/jobs/job-reader.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

let testDb: TestDatabase;

beforeAll(async () => {
  testDb = await createTestDatabase();
});

afterAll(async () => {
  await testDb?.drop();
});

const caller = (subject: string): Auth => ({
  subject,
  kind: 'api_key',
  scopes: ['jobs:read'],
  claims: { api_key_id: 'k1', role: 'service_role', sub: 'someone-else' },
});

describe('asCaller', () => {
  it('runs as authenticated with the subject as auth.uid(), whatever the claims say', async () => {
    const sub = randomUUID();
    const [row] = await asCaller(testDb.db, caller(sub), (tx) =>
      tx.query<{ who: string; uid: string; role: string; key: string }>(
        `select current_user as who, auth.uid()::text as uid,
                auth.jwt() ->> 'role' as role, auth.jwt() ->> 'api_key_id' as key`,
      ),
    );

    expect(row).toEqual({ who: 'authenticated', uid: sub, role: 'authenticated', key: 'k1' });
  });

  it('leaves neither role nor claims behind on the connection', async () => {
    await asCaller(testDb.db, caller(randomUUID()), (tx) => tx.query('select 1'));

    // Enough queries to pass over every connection of the pool.
    const rows = await Promise.all(
      Array.from({ length: 20 }, () =>
        testDb.db.query<{ who: string; claims: string | null }>(
          `select current_user as who, nullif(current_setting('request.jwt.claims', true), '')
             as claims`,
        ),
      ),
    );
    for (const [row] of rows) {
      expect(row?.who).not.toBe('authenticated');
      expect(row?.claims).toBeNull();
    }
  });

  it('rolls back everything when the work throws', async () => {
    const sub = randomUUID();
    const failed = asCaller(testDb.db, caller(sub), async (tx) => {
      await tx.query(`insert into public.jobs (type, owner_id) values ('noop', $1)`, [sub]);
      throw new Error('changed my mind');
    });

    await expect(failed).rejects.toThrow('changed my mind');
    expect(await testDb.db.query('select 1 from public.jobs where owner_id = $1', [sub])).toEqual(
      [],
    );
  });

  it('lets RLS refuse what the caller may not do', async () => {
    const sub = randomUUID();
    const forged = asCaller(testDb.db, caller(sub), (tx) =>
      tx.query(`insert into public.jobs (type, owner_id) values ('noop', $1)`, [randomUUID()]),
    );

    await expect(forged).rejects.toThrow(/row-level security/);
  });
});

describe('findJobAsCaller (one statement, no transaction around it)', () => {
  it('shows owners their job and others nothing, under RLS', async () => {
    const owner = randomUUID();
    const [job] = await testDb.db.query<{ id: string }>(
      `insert into public.jobs (type, owner_id) values ('noop', $1) returning id`,
      [owner],
    );
    if (!job) throw new Error('no job');

    expect((await findJobAsCaller(testDb.db, caller(owner), job.id))?.id).toBe(job.id);
    expect(await findJobAsCaller(testDb.db, caller(randomUUID()), job.id)).toBeUndefined();
  });

  it('puts role and claims back, also inside a surrounding transaction', async () => {
    const [inside] = await testDb.db.transaction(async (tx) => {
      await findJobAsCaller(tx, caller(randomUUID()), randomUUID());
      return await tx.query<{ who: string; claims: string | null }>(
        `select current_user as who, nullif(current_setting('request.jwt.claims', true), '')
           as claims`,
      );
    });
    expect(inside?.who).not.toBe('authenticated');
    expect(inside?.claims).toBeNull();

    await Promise.all(
      Array.from({ length: 20 }, () =>
        findJobAsCaller(testDb.db, caller(randomUUID()), randomUUID()),
      ),
    );
    const after = await Promise.all(
      Array.from({ length: 20 }, () =>
        testDb.db.query<{ who: string }>('select current_user as who'),
      ),
    );
    for (const [row] of after) expect(row?.who).not.toBe('authenticated');
  });

  it('cannot be called by users themselves', async () => {
    const direct = asCaller(testDb.db, caller(randomUUID()), (tx) =>
      tx.query('select * from kai.find_job_as_caller($1, $2)', ['{}', randomUUID()]),
    );

    await expect(direct).rejects.toThrow(/permission denied/);
  });
});
