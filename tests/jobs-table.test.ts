import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../core/db/database.ts';
import { JOB_EVENTS_CHANNEL, type JobChange, jobChangesOf } from '../core/jobs/job-events.ts';
import { asRole, asUser, createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

const alice = randomUUID();
const bob = randomUUID();
let testDb: TestDatabase;
let db: Database;

async function insertJob(ownerId: string | null, type = 'ocr.extract'): Promise<string> {
  const [row] = await db.query<{ id: string }>(
    'insert into public.jobs (owner_id, type, payload) values ($1, $2, $3::jsonb) returning id',
    [ownerId, type, { image: 'a.png' }],
  );
  if (!row) throw new Error('insert returned no row');
  return row.id;
}

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = testDb.db;
});

afterAll(async () => {
  await testDb.drop();
});

describe('the jobs table under RLS', () => {
  it('shows an authenticated user their own jobs and no one else’s', async () => {
    const aliceJob = await insertJob(alice);
    const bobJob = await insertJob(bob);

    const seenByAlice = await asUser(db, alice, (tx) =>
      tx.query<{ id: string }>('select id from jobs'),
    );
    const bobByAlice = await asUser(db, alice, (tx) =>
      tx.query('select id from jobs where id = $1', [bobJob]),
    );

    expect(seenByAlice.map((r) => r.id)).toContain(aliceJob);
    expect(seenByAlice.map((r) => r.id)).not.toContain(bobJob);
    expect(bobByAlice).toHaveLength(0);
  });

  it('lets an authenticated user neither write nor change jobs directly', async () => {
    const aliceJob = await insertJob(alice);

    await expect(
      asUser(db, alice, (tx) =>
        tx.query(`insert into jobs (owner_id, type) values ($1, 'ocr.extract')`, [alice]),
      ),
    ).rejects.toThrow(/permission denied/);
    await expect(
      asUser(db, alice, (tx) =>
        tx.query(`update jobs set status = 'completed' where id = $1`, [aliceJob]),
      ),
    ).rejects.toThrow(/permission denied/);
  });

  it('shows anon nothing', async () => {
    await insertJob(alice);

    await expect(asRole(db, 'anon', {}, (tx) => tx.query('select id from jobs'))).rejects.toThrow(
      /permission denied/,
    );
  });

  it('lets the service role read and write every job', async () => {
    const aliceJob = await insertJob(alice);

    const rows = await asRole(db, 'service_role', { role: 'service_role' }, async (tx) => {
      await tx.query(`update jobs set priority = 5 where id = $1`, [aliceJob]);
      return await tx.query<{ n: number }>('select count(*)::int as n from jobs');
    });
    const [total] = await db.query<{ n: number }>('select count(*)::int as n from jobs');

    expect(rows[0]?.n).toBe(total?.n);
  });
});

describe('the jobs table', () => {
  it('fills its defaults and follows changes in updated_at', async () => {
    const id = await insertJob(alice);
    const [before] = await db.query<{ status: string; attempts: number; updated_at: Date }>(
      'select status, attempts, max_attempts, progress, updated_at from jobs where id = $1',
      [id],
    );

    await new Promise((resolve) => setTimeout(resolve, 20));
    await db.query(`update jobs set priority = 1 where id = $1`, [id]);
    const [after] = await db.query<{ updated_at: Date }>(
      'select updated_at from jobs where id = $1',
      [id],
    );

    expect(before).toMatchObject({ status: 'queued', attempts: 0, max_attempts: 3, progress: 0 });
    expect(after?.updated_at.getTime()).toBeGreaterThan(before?.updated_at.getTime() ?? 0);
  });

  it.each([
    [`update jobs set status = 'exploded' where id = $1`, 'status'],
    [`update jobs set progress = 101 where id = $1`, 'progress'],
    [`update jobs set max_attempts = 0 where id = $1`, 'max_attempts'],
  ])('refuses %s', async (sql, column) => {
    const id = await insertJob(alice);

    await expect(db.query(sql, [id])).rejects.toThrow(new RegExp(`check constraint.*${column}`));
  });

  it('refuses a malformed job type', async () => {
    await expect(insertJob(alice, 'Not A Type')).rejects.toThrow(/check constraint/);
  });

  it('is in the supabase_realtime publication', async () => {
    const rows = await db.query(
      `select 1 from pg_publication_tables
       where pubname = 'supabase_realtime' and schemaname = 'public' and tablename = 'jobs'`,
    );

    expect(rows).toHaveLength(1);
  });

  it('notifies kai_jobs on insert and on status and progress changes, not on other changes', async () => {
    const changes: JobChange[] = [];
    const unlisten = await db.listen(JOB_EVENTS_CHANNEL, (payload) => {
      changes.push(...jobChangesOf(payload));
    });

    const id = await insertJob(alice, 'texture.embed');
    await db.query(`update jobs set status = 'running' where id = $1`, [id]);
    await db.query(`update jobs set progress = 40, progress_message = 'tiles' where id = $1`, [id]);
    await db.query(`update jobs set priority = 9, payload = '{}' where id = $1`, [id]);
    await db.query(`update jobs set status = 'running' where id = $1`, [id]);
    await db.query(`update jobs set status = 'completed', progress = 100 where id = $1`, [id]);

    const mine = () => changes.filter((c) => c.id === id);
    await expect.poll(() => mine().length).toBe(4);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await unlisten();

    const base = { id, type: 'texture.embed', ownerId: alice, queue: 'batch', model: null };
    expect(mine()).toEqual(
      [
        { ...base, op: 'insert', status: 'queued', progress: 0, progressMessage: null },
        { ...base, op: 'update', status: 'running', progress: 0, progressMessage: null },
        { ...base, op: 'update', status: 'running', progress: 40, progressMessage: 'tiles' },
        { ...base, op: 'update', status: 'completed', progress: 100, progressMessage: 'tiles' },
      ].map((change) => ({ ...change, cancelRequested: false })),
    );
  });

  it('notifies the jobs of one insert together, and refuses a user insert outside the API', async () => {
    const payloads: string[] = [];
    const unlisten = await db.listen(JOB_EVENTS_CHANNEL, (payload) => payloads.push(payload));

    const rows = await db.query<{ id: string }>(
      `insert into jobs (type, payload, owner_id, queue)
       select 'noop', '{}', $1, 'batch' from generate_series(1, 3) returning id`,
      [alice],
    );
    const ids = rows.map((row) => row.id);
    await expect
      .poll(() => payloads.flatMap(jobChangesOf).filter((c) => ids.includes(c.id)).length)
      .toBe(3);
    await unlisten();

    // One notification holding all three inserts, in the order they were inserted.
    const theirs = payloads.filter((p) => jobChangesOf(p).some((c) => ids.includes(c.id)));
    expect(theirs).toHaveLength(1);
    expect(jobChangesOf(theirs[0] as string).map((c) => [c.op, c.id])).toEqual(
      ids.map((id) => ['insert', id]),
    );

    // As a user, without the API's mark on the transaction: refused, whatever the rows.
    await expect(
      db.transaction(async (tx) => {
        await tx.query(`select set_config('request.jwt.claims', $1, true)`, [
          JSON.stringify({ sub: alice, role: 'authenticated' }),
        ]);
        await tx.query(`set local role authenticated`);
        await tx.query(
          `insert into jobs (type, payload, owner_id, queue) values ('noop', '{}', $1, 'batch')`,
          [alice],
        );
      }),
    ).rejects.toMatchObject({ code: '42501' });
  });
});
