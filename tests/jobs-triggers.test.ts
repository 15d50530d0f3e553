import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../core/db/database.ts';
import { jobChangesOf } from '../core/jobs/job-events.ts';
import { claimJobs } from '../core/queue/claim-jobs.ts';
import { enqueueJobs } from '../core/queue/enqueue.ts';
import { syncQueueClasses } from '../core/queue/queue-classes.ts';
import { completeJobs, reportProgress } from '../core/queue/settle-jobs.ts';
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

  it("notify kai_jobs of each job's claim and completion, many to a notification", async () => {
    await enqueueJobs(
      db,
      Array.from({ length: 4 }, () => ({ type: 'test.t', payload: {}, queue: 'batch' })),
    );
    const notifications: string[] = [];
    const unlisten = await db.listen('kai_jobs', (payload) => notifications.push(payload));
    try {
      await claimAndComplete(4);
      const heard = () => notifications.flatMap(jobChangesOf);
      await expect.poll(() => heard().length).toBe(8);
      expect(heard().filter((c) => c.status === 'running')).toHaveLength(4);
      expect(heard().filter((c) => c.status === 'completed')).toHaveLength(4);
      // One for the claim, one for the completion.
      expect(notifications).toHaveLength(2);
    } finally {
      await unlisten();
    }
  });

  it("split a large statement's changes into notifications under the payload limit", async () => {
    const owner = randomUUID();
    await enqueueJobs(
      db,
      Array.from({ length: 300 }, () => ({
        type: 'test.t',
        payload: {},
        queue: 'batch',
        ownerId: owner,
      })),
    );
    const claimed = await claimJobs(db, {
      workerId: 'w',
      types: ['test.t'],
      limit: 300,
      leaseMs: 60_000,
    });
    // Progress messages of every size the table allows, multi-byte and quoted ones included.
    const messages = ['a "quoted" \\ line\n', '€'.repeat(500), 'x'.repeat(299), 'ü'.repeat(450)];
    for (const [i, message] of messages.entries()) {
      const job = claimed[i] as (typeof claimed)[number];
      await reportProgress(db, { jobId: job.id, leaseToken: job.leaseToken }, 10, message);
    }

    const notifications: string[] = [];
    const unlisten = await db.listen('kai_jobs', (payload) => notifications.push(payload));
    try {
      const done = await completeJobs(
        db,
        claimed.map((job) => ({
          lease: { jobId: job.id, leaseToken: job.leaseToken },
          result: {},
        })),
      );
      expect(done.size).toBe(300);

      const heard = () => notifications.flatMap(jobChangesOf);
      await expect.poll(() => heard().length).toBe(300);
      expect(new Set(heard().map((c) => c.id))).toEqual(new Set(claimed.map((j) => j.id)));
      expect(heard().every((c) => c.status === 'completed' && c.progress === 100)).toBe(true);
      for (const [i, message] of messages.entries()) {
        const change = heard().find((c) => c.id === claimed[i]?.id);
        expect(change?.progressMessage).toBe(message);
      }
      expect(notifications.length).toBeGreaterThan(5);
      expect(notifications.length).toBeLessThan(20);
      for (const payload of notifications) {
        expect(Buffer.byteLength(payload)).toBeLessThan(8000);
      }
    } finally {
      await unlisten();
    }
  });

  it('send changes in as few notifications as the chunking rule allows', async () => {
    // The rule, as kai.notify_job_changes states it: consecutive changes of up to 900 bytes
    // share a notification while their running length (joined by commas) stays in one
    // 7000-byte window; a larger change goes alone.
    const expected = (changes: string[]) => {
      const chunks = new Map<number, string[]>();
      let running = 0;
      changes.forEach((change, i) => {
        const bytes = Buffer.byteLength(change);
        let chunk = -(i + 1);
        if (bytes <= 900) {
          running += bytes + 1;
          chunk = Math.floor((running - 1) / 7000);
        }
        chunks.set(chunk, [...(chunks.get(chunk) ?? []), change]);
      });
      return [...chunks.values()].map((part) => `[${part.join(',')}]`).sort();
    };
    // A change of `bytes` bytes (a multi-byte character inside), distinct from every other.
    let serial = 0;
    const change = (bytes: number) => {
      serial += 1;
      const head = `${serial}:€`;
      return head + 'x'.repeat(Math.max(0, bytes - Buffer.byteLength(head)));
    };
    const cases: string[][] = [
      [],
      [change(10)],
      Array.from({ length: 5 }, () => change(300)),
      // Joined by commas: 6999, 7000 and 7001 bytes, around the window's edge.
      [...Array.from({ length: 7 }, () => change(900)), change(6999 - 7 * 901)],
      [...Array.from({ length: 7 }, () => change(900)), change(7000 - 7 * 901)],
      [...Array.from({ length: 7 }, () => change(900)), change(7001 - 7 * 901)],
      [change(900), change(20)],
      [change(901), change(20)],
      [change(20), change(1500), change(20)],
      Array.from({ length: 40 }, (_, i) => change(1 + ((i * 389) % 1000))),
    ];

    for (const changes of cases) {
      const heard: string[] = [];
      const unlisten = await db.listen('kai_jobs', (payload) => heard.push(payload));
      try {
        const [row] = await db.query<{ sent: number }>(
          'select kai.notify_job_changes($1::text[]) as sent',
          [changes],
        );
        const payloads = expected(changes);
        expect(row?.sent).toBe(payloads.length);
        await expect.poll(() => heard.length).toBe(payloads.length);
        expect([...heard].sort()).toEqual(payloads);
        for (const payload of heard) expect(Buffer.byteLength(payload)).toBeLessThan(8000);
      } finally {
        await unlisten();
      }
    }
  });

  it('announce a claimed job as the row trigger announces the same change', async () => {
    const owner = randomUUID();
    const [enqueued] = await enqueueJobs(db, [
      { type: 'test.t', payload: {}, queue: 'batch', ownerId: owner, model: 'm "1"' },
    ]);
    const id = enqueued?.job.id as string;
    const notifications: string[] = [];
    const unlisten = await db.listen('kai_jobs', (payload) => notifications.push(payload));
    try {
      await claimJobs(db, { workerId: 'w', types: ['test.t'], limit: 1, leaseMs: 60_000 });
      await expect.poll(() => notifications.length).toBe(1);
      const batched = jobChangesOf(notifications[0] as string);
      expect(notifications[0]?.startsWith('[')).toBe(true);

      // The same change by a plain update, which the row trigger announces on its own.
      await db.query(`update public.jobs set status = 'queued' where id = $1`, [id]);
      await db.query(`update public.jobs set status = 'running' where id = $1`, [id]);
      await expect.poll(() => notifications.length).toBe(3);
      const single = JSON.parse(notifications[2] as string);
      expect(Array.isArray(single)).toBe(false);

      expect(batched).toEqual([single]);
      expect(single).toMatchObject({ id, ownerId: owner, model: 'm "1"', status: 'running' });
    } finally {
      await unlisten();
    }
  });

  it('leave the row trigger announcing what else the transaction changes', async () => {
    const [enqueued] = await enqueueJobs(db, [{ type: 'test.t', payload: {}, queue: 'batch' }]);
    const id = enqueued?.job.id as string;
    const notifications: string[] = [];
    const unlisten = await db.listen('kai_jobs', (payload) => notifications.push(payload));
    try {
      await db.transaction(async (tx) => {
        await claimJobs(tx, { workerId: 'w', types: ['test.t'], limit: 1, leaseMs: 60_000 });
        await tx.query(`update public.jobs set progress = 5 where id = $1`, [id]);
      });
      await expect.poll(() => notifications.flatMap(jobChangesOf).length).toBe(2);
      expect(notifications.flatMap(jobChangesOf).map((c) => c.progress)).toEqual([0, 5]);
    } finally {
      await unlisten();
    }
  });
});
