import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../core/db/database.ts';
import { claimJobs } from '../core/queue/claim-jobs.ts';
import { enqueueJobs } from '../core/queue/enqueue.ts';
import { syncQueueClasses } from '../core/queue/queue-classes.ts';
import { completeJobs } from '../core/queue/settle-jobs.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

let testDb: TestDatabase;
let db: Database;

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = testDb.db;
  await syncQueueClasses(db, { batch: { concurrency: 1000, weight: 1 } });
});

beforeEach(async () => {
  await db.exec('delete from public.jobs; delete from kai.events');
});

afterAll(async () => {
  await testDb.drop();
});

async function claimAndComplete(count: number): Promise<void> {
  const claimed = await claimJobs(db, {
    workerId: 'w',
    types: ['test.t'],
    limit: count,
    leaseMs: 60_000,
  });
  expect(claimed).toHaveLength(count);
  const done = await completeJobs(
    db,
    claimed.map((job) => ({ lease: { jobId: job.id, leaseToken: job.leaseToken }, result: {} })),
  );
  expect(done.size).toBe(count);
}

describe('the jobs table triggers on the claim and completion path', () => {
  it('write an outcome event for each owned job and none for system jobs', async () => {
    const owner = randomUUID();
    await enqueueJobs(db, [
      ...Array.from({ length: 3 }, () => ({
        type: 'test.t',
        payload: {},
        queue: 'batch',
        ownerId: owner,
      })),
      ...Array.from({ length: 5 }, () => ({
        type: 'test.t',
        payload: {},
        queue: 'batch',
        ownerId: null,
      })),
    ]);

    await claimAndComplete(8);

    const events = await db.query<{ type: string; owner_id: string | null }>(
      'select type, owner_id from kai.events',
    );
    expect(events).toEqual(
      Array.from({ length: 3 }, () => ({ type: 'job.completed', owner_id: owner })),
    );
  });

  it('notify kai_jobs once per job for its claim and once for its completion', async () => {
    await enqueueJobs(
      db,
      Array.from({ length: 4 }, () => ({ type: 'test.t', payload: {}, queue: 'batch' })),
    );
    const heard: { status: string }[] = [];
    const unlisten = await db.listen('kai_jobs', (payload) => heard.push(JSON.parse(payload)));
    try {
      await claimAndComplete(4);
      await expect.poll(() => heard.length).toBe(8);
      expect(heard.filter((c) => c.status === 'running')).toHaveLength(4);
      expect(heard.filter((c) => c.status === 'completed')).toHaveLength(4);
    } finally {
      await unlisten();
    }
  });
});
