import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../core/db/database.ts';
import { cancelJob } from '../core/queue/cancel-job.ts';
import { claimJobs } from '../core/queue/claim-jobs.ts';
import { deleteFinishedJobs } from '../core/queue/delete-finished-jobs.ts';
import { enqueueJob, enqueueJobs, type JobSpec } from '../core/queue/enqueue.ts';
import type { ClaimedJob } from '../core/queue/job.ts';
import { renewLeases } from '../core/queue/lease.ts';
import { syncQueueClasses } from '../core/queue/queue-classes.ts';
import { IdempotencyConflictError, LeaseLostError } from '../core/queue/queue-errors.ts';
import {
  completeJob,
  completeJobs,
  failJob,
  markCancelled,
  releaseJobs,
  reportProgress,
} from '../core/queue/settle-jobs.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

const BACKOFF = { baseMs: 1000, maxMs: 60_000 };
const LEASE_MS = 30_000;
let testDb: TestDatabase;
let db: Database;

const spec = (over: Partial<JobSpec> = {}): JobSpec => ({
  type: 'test.noop',
  payload: { n: 1 },
  queue: 'batch',
  ...over,
});

const claim = (limit = 10, types = ['test.noop'], leaseMs = LEASE_MS) =>
  claimJobs(db, { workerId: 'w1', types, limit, leaseMs });

const leaseOf = (job: ClaimedJob) => ({ jobId: job.id, leaseToken: job.leaseToken });

async function statusOf(id: string): Promise<Record<string, unknown>> {
  const [row] = await db.query('select * from public.jobs where id = $1', [id]);
  if (!row) throw new Error(`no job ${id}`);
  return row;
}

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = testDb.db;
});

beforeEach(async () => {
  await db.exec('delete from public.jobs; delete from kai.queue_classes;');
  await syncQueueClasses(db, {
    interactive: { concurrency: 5, weight: 10 },
    batch: { concurrency: 10, weight: 5 },
    maintenance: { concurrency: 2, weight: 1 },
  });
});

afterAll(async () => {
  await testDb.drop();
});

describe('enqueue', () => {
  it('enqueues one job and many, results in the order asked', async () => {
    const one = await enqueueJob(db, spec({ priority: 3, maxAttempts: 5, timeoutMs: 2000 }));
    const many = await enqueueJobs(
      db,
      Array.from({ length: 50 }, (_, n) => spec({ payload: { n } })),
    );

    expect(one).toMatchObject({ created: true, job: { status: 'queued', priority: 3 } });
    expect(one.job).toMatchObject({ maxAttempts: 5, timeoutMs: 2000, queue: 'batch' });
    expect(many.map((r) => r.job.payload)).toEqual(Array.from({ length: 50 }, (_, n) => ({ n })));
  });

  it("commits with the caller's transaction and vanishes with its rollback", async () => {
    let id = '';
    await db
      .transaction(async (tx) => {
        id = (await enqueueJob(tx, spec())).job.id;
        throw new Error('the caller changed its mind');
      })
      .catch(() => {});

    expect(await db.query('select 1 from public.jobs where id = $1', [id])).toHaveLength(0);
  });

  it('returns the existing job for a repeated idempotency key and request', async () => {
    const owner = randomUUID();
    const first = await enqueueJob(db, spec({ ownerId: owner, idempotencyKey: 'k1' }));
    const again = await enqueueJob(db, spec({ ownerId: owner, idempotencyKey: 'k1' }));
    const otherOwner = await enqueueJob(db, spec({ ownerId: randomUUID(), idempotencyKey: 'k1' }));

    expect(again).toEqual({ job: first.job, created: false });
    expect(otherOwner.created).toBe(true);
  });

  it('refuses the same idempotency key with another payload', async () => {
    const owner = randomUUID();
    const first = await enqueueJob(db, spec({ ownerId: owner, idempotencyKey: 'k2' }));

    const conflict = await enqueueJob(
      db,
      spec({ ownerId: owner, idempotencyKey: 'k2', payload: { n: 2 } }),
    ).catch((error: unknown) => error);

    expect(conflict).toBeInstanceOf(IdempotencyConflictError);
    expect(conflict).toMatchObject({
      code: 'idempotency_conflict',
      extensions: { jobId: first.job.id },
    });
  });
});

describe('claim', () => {
  it('leases ready jobs by priority and leaves delayed and foreign types alone', async () => {
    await enqueueJobs(db, [
      spec({ payload: { n: 'low' } }),
      spec({ payload: { n: 'high' }, priority: 5 }),
      spec({ payload: { n: 'later' }, runAfterMs: 60_000 }),
      spec({ type: 'other.type' }),
    ]);

    const claimed = await claim();

    expect(claimed.map((j) => j.payload)).toEqual([{ n: 'high' }, { n: 'low' }]);
    for (const job of claimed) {
      expect(job).toMatchObject({ status: 'running', attempts: 1, workerId: 'w1' });
      expect(job.leaseToken).toMatch(/^[0-9a-f-]{36}$/);
      expect(job.leaseExpiresAt.getTime()).toBeGreaterThan(Date.now() + LEASE_MS - 5000);
    }
  });

  it('takes jobs of one model per claim, so a batch fills', async () => {
    await enqueueJobs(db, [
      spec({ model: 'ocr-rec', payload: { n: 1 } }),
      spec({ model: 'texture', payload: { n: 2 } }),
      spec({ model: 'ocr-rec', payload: { n: 3 } }),
    ]);

    const first = await claim();
    const second = await claim();

    expect(first.map((j) => j.model)).toEqual(['ocr-rec', 'ocr-rec']);
    expect(second.map((j) => j.model)).toEqual(['texture']);
  });

  it("holds a class's concurrency across claims until jobs finish", async () => {
    await enqueueJobs(
      db,
      Array.from({ length: 5 }, () => spec({ queue: 'maintenance' })),
    );

    const first = await claim(10);
    const blocked = await claim(10);
    await completeJob(db, leaseOf(first[0] as ClaimedJob), { ok: true });
    const after = await claim(10);

    expect(first).toHaveLength(2);
    expect(blocked).toHaveLength(0);
    expect(after).toHaveLength(1);
  });

  it('shares claims between waiting classes by weight, within 10% over 1,000 claims', async () => {
    const perClass = 1000;
    for (const queue of ['interactive', 'batch', 'maintenance']) {
      await enqueueJobs(
        db,
        Array.from({ length: perClass }, () => spec({ queue })),
      );
    }

    const counts: Record<string, number> = { interactive: 0, batch: 0, maintenance: 0 };
    for (let i = 0; i < 1000; i++) {
      const [job] = await claim(1);
      if (!job) throw new Error('nothing claimed while work waits');
      counts[job.queue] = (counts[job.queue] ?? 0) + 1;
      await completeJob(db, leaseOf(job), null);
    }

    const totalWeight = 10 + 5 + 1;
    for (const [queue, weight] of [
      ['interactive', 10],
      ['batch', 5],
      ['maintenance', 1],
    ] as const) {
      const expected = (1000 * weight) / totalWeight;
      expect(Math.abs((counts[queue] ?? 0) - expected) / expected).toBeLessThanOrEqual(0.1);
    }
  });

  it('lets concurrent claimers over several busy classes proceed without deadlocks', async (ctx) => {
    if (testDb.driver === 'pglite') ctx.skip(); // one connection: claims cannot overlap
    for (const queue of ['interactive', 'batch', 'maintenance']) {
      await enqueueJobs(
        db,
        Array.from({ length: 200 }, () => spec({ queue })),
      );
    }
    const claimers = Array.from({ length: 4 }, () => testDb.connect());

    const claimed = await Promise.all(
      claimers.map(async (claimer, w) => {
        let total = 0;
        for (let round = 0; round < 25; round++) {
          const jobs = await claimJobs(claimer, {
            workerId: `w${w}`,
            types: ['test.noop'],
            limit: 2,
            leaseMs: LEASE_MS,
          });
          await completeJobs(
            claimer,
            jobs.map((job) => ({ lease: leaseOf(job), result: null })),
          );
          total += jobs.length;
        }
        return total;
      }),
    );

    // A claim may take fewer than its limit (maintenance allows 2 at once), never fail.
    const [done] = await db.query<{ n: number }>(
      `select count(*)::int as n from public.jobs where status = 'completed'`,
    );
    expect(claimed.reduce((a, b) => a + b, 0)).toBe(done?.n);
    expect(done?.n).toBeGreaterThan(4 * 25);
  });

  it('does not let an idle class bank its share and starve the others later', async () => {
    await enqueueJobs(
      db,
      Array.from({ length: 300 }, () => spec({ queue: 'batch' })),
    );
    for (let i = 0; i < 200; i++) {
      const [job] = await claim(1);
      await completeJob(db, leaseOf(job as ClaimedJob), null);
    }

    await enqueueJobs(
      db,
      Array.from({ length: 100 }, () => spec({ queue: 'interactive' })),
    );
    const next: string[] = [];
    for (let i = 0; i < 30; i++) {
      const [job] = await claim(1);
      next.push((job as ClaimedJob).queue);
      await completeJob(db, leaseOf(job as ClaimedJob), null);
    }

    // 10:5 means about one batch job for every two interactive ones, not a run of interactive.
    expect(next.filter((q) => q === 'batch').length).toBeGreaterThanOrEqual(8);
  });

  it('answers a claim with nothing ready as a read, writing nothing', async () => {
    await enqueueJobs(db, [spec({ type: 'test.other' }), spec({ runAfterMs: 60_000 })]);
    const xidAfter = (limit: number) =>
      db.transaction(async (tx) => {
        const jobs = await claimJobs(tx, {
          workerId: 'w1',
          types: ['test.noop'],
          limit,
          leaseMs: LEASE_MS,
        });
        const [row] = await tx.query<{ xid: string | null }>(
          'select pg_current_xact_id_if_assigned()::text as xid',
        );
        return { jobs, xid: row?.xid ?? null };
      });

    // Only a foreign type and a delayed job wait: no class row is locked, no id assigned.
    expect(await xidAfter(5)).toEqual({ jobs: [], xid: null });

    await enqueueJob(db, spec());
    const claimed = await xidAfter(5);
    expect(claimed.jobs).toHaveLength(1);
    expect(claimed.xid).not.toBeNull();
  });

  it('does not wait behind a claim in progress when nothing is ready', async (ctx) => {
    if (testDb.driver === 'pglite') ctx.skip(); // one connection: claims cannot overlap
    const holder = testDb.connect();
    const claimer = testDb.connect();
    try {
      let release = () => {};
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      let locked = () => {};
      const isLocked = new Promise<void>((resolve) => {
        locked = resolve;
      });
      // Another claim holds every class row, as a claim does until it commits.
      const holding = holder.transaction(async (tx) => {
        await tx.query('select 1 from kai.queue_classes order by name for update');
        locked();
        await released;
      });
      await isLocked;

      // lock_timeout turns a wait for those rows into an error instead of a hang.
      const answer = await claimer
        .transaction(async (tx) => {
          await tx.query(`set local lock_timeout = '2s'`);
          return claimJobs(tx, {
            workerId: 'w2',
            types: ['test.noop'],
            limit: 5,
            leaseMs: LEASE_MS,
          });
        })
        .finally(release);
      await holding;
      expect(answer).toEqual([]);
    } finally {
      await holder.close();
      await claimer.close();
    }
  });
});

describe('leases and fencing', () => {
  it('refuses every write of a token that is not the current one', async () => {
    const { job } = await enqueueJob(db, spec());
    await claim();
    const forged = { jobId: job.id, leaseToken: randomUUID() };

    await expect(completeJob(db, forged, {})).rejects.toBeInstanceOf(LeaseLostError);
    await expect(
      failJob(db, forged, { code: 'x', message: 'x', retryable: true }, BACKOFF),
    ).rejects.toBeInstanceOf(LeaseLostError);
    await expect(reportProgress(db, forged, 50)).rejects.toBeInstanceOf(LeaseLostError);
    expect(await statusOf(job.id)).toMatchObject({ status: 'running', progress: 0 });
  });

  it('reclaims an expired lease, and the late worker can no longer complete', async () => {
    await enqueueJob(db, spec());
    const [stale] = await claim(10, ['test.noop'], 50);
    await new Promise((resolve) => setTimeout(resolve, 120));

    const [fresh] = await claim();
    const late = completeJob(db, leaseOf(stale as ClaimedJob), { from: 'stale' });

    await expect(late).rejects.toBeInstanceOf(LeaseLostError);
    expect(fresh).toMatchObject({ id: stale?.id, attempts: 2 });
    expect(await statusOf(fresh?.id as string)).toMatchObject({
      error: { code: 'lease_expired' },
    });
    await completeJob(db, leaseOf(fresh as ClaimedJob), { from: 'fresh' });
    expect(await statusOf(fresh?.id as string)).toMatchObject({
      status: 'completed',
      result: { from: 'fresh' },
    });
  });

  it('renews held leases and reports the lost ones by leaving them out', async () => {
    await enqueueJobs(db, [spec(), spec()]);
    const [held, lost] = await claim(2, ['test.noop'], 50);
    await new Promise((resolve) => setTimeout(resolve, 120));
    await db.query(
      `update public.jobs set lease_expires_at = now() + interval '1 minute' where id = $1`,
      [held?.id],
    );

    const renewed = await renewLeases(
      db,
      [leaseOf(held as ClaimedJob), leaseOf(lost as ClaimedJob)],
      60_000,
    );

    expect([...renewed]).toEqual([held?.id]);
  });

  it('ends cancelled, not retried, an expired job whose cancellation was asked for', async () => {
    const { job } = await enqueueJob(db, spec());
    const [held] = await claim(10, ['test.noop'], 50);
    expect(await cancelJob(db, job.id)).toBe('running');
    await new Promise((resolve) => setTimeout(resolve, 100));

    expect(await claim()).toEqual([]);
    expect(await statusOf(job.id)).toMatchObject({
      status: 'cancelled',
      error: { code: 'lease_expired' },
    });
    expect((await statusOf(job.id)).finished_at).not.toBeNull();
    await expect(completeJob(db, leaseOf(held as ClaimedJob), {})).rejects.toBeInstanceOf(
      LeaseLostError,
    );
  });

  it('makes a job dead when its last attempt loses the lease', async () => {
    const { job } = await enqueueJob(db, spec({ maxAttempts: 1 }));
    await claim(10, ['test.noop'], 20);
    await new Promise((resolve) => setTimeout(resolve, 60));

    await claim();

    expect(await statusOf(job.id)).toMatchObject({
      status: 'dead',
      error: { code: 'lease_expired' },
    });
  });
});

describe('settling', () => {
  it('completes with the result and full progress', async () => {
    await enqueueJob(db, spec());
    const [job] = await claim();

    await reportProgress(db, leaseOf(job as ClaimedJob), 42.4, 'halfway');
    const midway = await statusOf(job?.id as string);
    await completeJob(db, leaseOf(job as ClaimedJob), { labels: ['stone'] });

    expect(midway).toMatchObject({ progress: 42, progress_message: 'halfway' });
    expect(await statusOf(job?.id as string)).toMatchObject({
      status: 'completed',
      progress: 100,
      result: { labels: ['stone'] },
      lease_token: null,
    });
  });

  it('completes many jobs in one statement, skipping those whose lease is gone', async () => {
    await enqueueJobs(db, [spec(), spec(), spec()]);
    const [a, b, c] = await claim(3);
    const forged = { jobId: (c as ClaimedJob).id, leaseToken: randomUUID() };

    const completed = await completeJobs(db, [
      { lease: leaseOf(a as ClaimedJob), result: { n: 'a' } },
      { lease: leaseOf(b as ClaimedJob), result: { n: 'b' } },
      { lease: forged, result: { n: 'forged' } },
    ]);

    expect([...completed].sort()).toEqual([a?.id, b?.id].sort());
    expect(await statusOf(a?.id as string)).toMatchObject({
      status: 'completed',
      result: { n: 'a' },
    });
    expect(await statusOf(c?.id as string)).toMatchObject({ status: 'running', result: null });
  });

  it('retries a failure after an exponential, jittered delay, then makes it dead', async () => {
    const { job } = await enqueueJob(db, spec({ maxAttempts: 2 }));
    const [first] = await claim();

    const afterFirst = await failJob(
      db,
      leaseOf(first as ClaimedJob),
      {
        code: 'model_error',
        message: 'boom',
        retryable: true,
      },
      BACKOFF,
    );
    const failed = await statusOf(job.id);
    const delayMs = (failed.run_at as Date).getTime() - (failed.updated_at as Date).getTime();
    await db.query(`update public.jobs set run_at = now() where id = $1`, [job.id]);
    const [second] = await claim();
    const afterSecond = await failJob(
      db,
      leaseOf(second as ClaimedJob),
      {
        code: 'model_error',
        message: 'boom again',
        retryable: true,
      },
      BACKOFF,
    );

    expect(afterFirst).toBe('failed');
    expect(delayMs).toBeGreaterThanOrEqual(BACKOFF.baseMs / 2 - 5);
    expect(delayMs).toBeLessThanOrEqual(BACKOFF.baseMs + 5);
    expect(afterSecond).toBe('dead');
    expect(await statusOf(job.id)).toMatchObject({
      status: 'dead',
      attempts: 2,
      error: { code: 'model_error', message: 'boom again' },
    });
  });

  it('spreads retry delays: doubling per attempt, capped, jittered', async () => {
    const delays: number[] = [];
    const { job } = await enqueueJob(db, spec({ maxAttempts: 8 }));
    for (let attempt = 1; attempt <= 7; attempt++) {
      await db.query(`update public.jobs set run_at = now() where id = $1`, [job.id]);
      const [held] = await claim();
      await failJob(
        db,
        leaseOf(held as ClaimedJob),
        { code: 'e', message: 'e', retryable: true },
        {
          baseMs: 1000,
          maxMs: 16_000,
        },
      );
      const row = await statusOf(job.id);
      delays.push((row.run_at as Date).getTime() - (row.updated_at as Date).getTime());
    }

    const ceilings = [1000, 2000, 4000, 8000, 16_000, 16_000, 16_000];
    delays.forEach((delayMs, i) => {
      expect(delayMs).toBeGreaterThanOrEqual((ceilings[i] as number) / 2 - 5);
      expect(delayMs).toBeLessThanOrEqual((ceilings[i] as number) + 5);
    });
  });

  it('makes a non-retryable failure dead at once', async () => {
    await enqueueJob(db, spec({ maxAttempts: 5 }));
    const [job] = await claim();

    const status = await failJob(
      db,
      leaseOf(job as ClaimedJob),
      {
        code: 'bad_input',
        message: 'not an image',
        retryable: false,
      },
      BACKOFF,
    );

    expect(status).toBe('dead');
  });

  it('puts released jobs back as they were, without counting the attempt', async () => {
    const { job } = await enqueueJob(db, spec());
    const claimed = await claim();

    const released = await releaseJobs(db, claimed.map(leaseOf));

    expect(released).toBe(1);
    expect(await statusOf(job.id)).toMatchObject({
      status: 'queued',
      attempts: 0,
      lease_token: null,
    });
  });
});

describe('cancel', () => {
  it('cancels a waiting job at once', async () => {
    const { job } = await enqueueJob(db, spec());

    expect(await cancelJob(db, job.id)).toBe('cancelled');
    expect(await claim()).toHaveLength(0);
  });

  it('asks a running job to stop, and it ends cancelled when its handler stops', async () => {
    const { job } = await enqueueJob(db, spec());
    const [held] = await claim();

    const asked = await cancelJob(db, job.id);
    const requested = await statusOf(job.id);
    await markCancelled(db, leaseOf(held as ClaimedJob));

    expect(asked).toBe('running');
    expect(requested.cancel_requested_at).toBeInstanceOf(Date);
    expect(await statusOf(job.id)).toMatchObject({ status: 'cancelled' });
  });

  it('ends a running job cancelled, not retried, when it fails after a cancel request', async () => {
    const { job } = await enqueueJob(db, spec());
    const [held] = await claim();
    await cancelJob(db, job.id);

    const status = await failJob(
      db,
      leaseOf(held as ClaimedJob),
      {
        code: 'aborted',
        message: 'stopped',
        retryable: true,
      },
      BACKOFF,
    );

    expect(status).toBe('cancelled');
  });

  it('answers undefined for a job that does not exist', async () => {
    expect(await cancelJob(db, randomUUID())).toBeUndefined();
  });
});

describe('depth and retention', () => {
  it('counts ready and running jobs per class for the autoscaler, not delayed ones', async () => {
    await enqueueJobs(db, [
      spec({ queue: 'interactive' }),
      spec({ queue: 'interactive' }),
      spec({ queue: 'interactive', runAfterMs: 60_000 }),
      spec({ queue: 'batch' }),
    ]);
    await claimJobs(db, { workerId: 'w', types: ['test.noop'], limit: 1, leaseMs: LEASE_MS });

    const [depth] = await db.query<{ interactive: number; batch: number; all: number }>(
      `select kai.queue_depth('interactive')::int as interactive,
              kai.queue_depth('batch')::int as batch, kai.queue_depth()::int as all`,
    );

    expect(depth).toEqual({ interactive: 2, batch: 1, all: 3 });
  });

  it('deletes finished jobs past retention and keeps everything else', async () => {
    const results = await enqueueJobs(db, [spec(), spec(), spec(), spec()]);
    const [oldDone, recentDone, running] = await claim(3);
    await completeJob(db, leaseOf(oldDone as ClaimedJob), null);
    await completeJob(db, leaseOf(recentDone as ClaimedJob), null);
    await db.query(`update public.jobs set finished_at = now() - interval '8 days' where id = $1`, [
      oldDone?.id,
    ]);

    const deleted = await deleteFinishedJobs(db, 7);

    const left = await db.query<{ id: string }>('select id from public.jobs');
    expect(deleted).toBe(1);
    expect(left.map((r) => r.id).sort()).toEqual(
      [recentDone?.id, running?.id, results[3]?.job.id].sort(),
    );
  });
});
