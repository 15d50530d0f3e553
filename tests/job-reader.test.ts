// The API's job reader on the real database: reads asked in one turn go together, each one
// decided by RLS as its own caller, and one read's failure stays its own.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Auth } from '../core/auth/caller.ts';
import { createJobReader } from '../core/jobs/job-reader.ts';
import { enqueueJob } from '../core/queue/enqueue.ts';
import { testCaller as caller } from './helpers/auth-tokens.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

let testDb: TestDatabase;

beforeAll(async () => {
  testDb = await createTestDatabase();
});

afterAll(async () => {
  await testDb.drop();
});

const jobOf = async (auth: Auth) =>
  (
    await enqueueJob(testDb.db, {
      type: 'noop',
      payload: {},
      ownerId: auth.subject,
      queue: 'batch',
    })
  ).job;

describe('createJobReader', () => {
  it("answers each read of one turn as its own caller: one's job, never another's", async () => {
    const reader = createJobReader(testDb.db);
    const alice = caller();
    const bob = caller();
    const [aliceJob, bobJob] = await Promise.all([jobOf(alice), jobOf(bob)]);

    const found = await Promise.all([
      reader.find(alice, aliceJob.id),
      reader.find(bob, bobJob.id),
      reader.find(alice, bobJob.id),
      reader.find(bob, aliceJob.id),
      reader.find(alice, randomUUID()),
      reader.find(alice, aliceJob.id),
    ]);

    expect(found.map((job) => job?.id)).toEqual([
      aliceJob.id,
      bobJob.id,
      undefined,
      undefined,
      undefined,
      aliceJob.id,
    ]);
    expect(found[0]).toMatchObject({ ownerId: alice.subject, type: 'noop', status: 'queued' });
  });

  it('fails only the read the database refuses, the others of its turn are answered', async () => {
    const reader = createJobReader(testDb.db);
    const alice = caller();
    const job = await jobOf(alice);

    const outcomes = await Promise.allSettled([
      reader.find(alice, job.id),
      // Not a uuid: SQLSTATE 22P02 for this read alone.
      reader.find(alice, 'not-a-uuid'),
      reader.find(alice, job.id),
    ]);

    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(((outcomes[1] as PromiseRejectedResult).reason as { code?: string }).code).toBe('22P02');
    expect((outcomes[2] as PromiseFulfilledResult<{ id: string }>).value.id).toBe(job.id);
  });
});
