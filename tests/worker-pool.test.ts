import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Database } from '../core/db/database.ts';
import type { JobType } from '../core/jobs/job-types.ts';
import { createLogger } from '../core/logging/logger.ts';
import { cancelJob } from '../core/queue/cancel-job.ts';
import { enqueueJob, enqueueJobs, type JobSpec } from '../core/queue/enqueue.ts';
import { type JobHandler, type JobOutcome, retryable } from '../gpu-pool/handlers/handler.ts';
import { noopHandler } from '../gpu-pool/handlers/noop-handler.ts';
import type { ModelProvider } from '../gpu-pool/pool-model.ts';
import {
  createWorkerPool,
  type WorkerPool,
  type WorkerPoolOptions,
} from '../gpu-pool/worker-pool.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const CLASSES = {
  interactive: { concurrency: 50, weight: 10 },
  batch: { concurrency: 100, weight: 5 },
  maintenance: { concurrency: 50, weight: 1 },
};

let testDb: TestDatabase;
let db: Database;
let pools: WorkerPool[] = [];

/** A test type whose handler records each batch it is given and echoes `value` back. */
const echoType: JobType<{ value: number; poison?: boolean | undefined; sleepMs?: number }> = {
  type: 'test.echo',
  description: 'echo for tests',
  queue: 'batch',
  model: 'test-model',
  payload: z.strictObject({
    value: z.number(),
    poison: z.boolean().optional(),
    sleepMs: z.number().optional(),
  }),
};
const batches: number[][] = [];
const echoHandler: JobHandler<z.infer<typeof echoType.payload>> = {
  jobType: echoType,
  async run(jobs) {
    batches.push(jobs.map((j) => j.payload.value));
    if (jobs.some((j) => j.payload.poison)) throw new Error('poisoned batch');
    return Promise.all(
      jobs.map(async (job): Promise<JobOutcome> => {
        try {
          if (job.payload.sleepMs)
            await sleep(job.payload.sleepMs, undefined, { signal: job.signal });
          return { ok: true, result: { value: job.payload.value } };
        } catch (error) {
          return retryable('interrupted', (error as Error).message);
        }
      }),
    );
  },
};

const models = (batchSize: number, maxQueueDelayMs: number): ModelProvider => ({
  get: (name) => (name === 'test-model' ? { instance: {}, batchSize, maxQueueDelayMs } : undefined),
});

async function startPool(over: Partial<WorkerPoolOptions> = {}): Promise<WorkerPool> {
  const pool = createWorkerPool({
    db,
    logger,
    handlers: [noopHandler as JobHandler, echoHandler as JobHandler],
    models: models(8, 20),
    queueClasses: CLASSES,
    leaseMs: 30_000,
    retry: { baseMs: 10, maxMs: 100 },
    concurrency: 64,
    batchSizeLimit: 16,
    pollIntervalMs: 200,
    ...over,
  });
  pools.push(pool);
  await pool.start();
  return pool;
}

const echo = (value: number, over: Partial<JobSpec> = {}): JobSpec => ({
  type: 'test.echo',
  payload: { value },
  queue: 'batch',
  model: 'test-model',
  ...over,
});

async function waitForStatuses(ids: string[], statuses: string[], timeoutMs = 20_000) {
  await expect
    .poll(
      async () => {
        const rows = await db.query<{ status: string }>(
          'select status from public.jobs where id = any($1::uuid[])',
          [ids],
        );
        return rows.filter((r) => statuses.includes(r.status)).length;
      },
      { timeout: timeoutMs, interval: 50 },
    )
    .toBe(ids.length);
}

async function rowOf(id: string): Promise<Record<string, unknown>> {
  const [row] = await db.query('select * from public.jobs where id = $1', [id]);
  return row as Record<string, unknown>;
}

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = testDb.db;
});

beforeEach(async () => {
  batches.length = 0;
  await db.exec('delete from public.jobs');
});

afterEach(async () => {
  for (const pool of pools) pool.stopNow();
  await Promise.all(pools.map((pool) => pool.drain()));
  pools = [];
});

afterAll(async () => {
  await testDb.drop();
});

describe('the worker pool', () => {
  it('runs every job once and completes it with its result', async () => {
    await startPool();
    const jobs = await enqueueJobs(
      db,
      Array.from({ length: 40 }, () => ({ type: 'noop', payload: {}, queue: 'maintenance' })),
    );
    const ids = jobs.map((r) => r.job.id);

    await waitForStatuses(ids, ['completed']);

    const rows = await db.query<{ attempts: number; result: unknown }>(
      'select attempts, result from public.jobs where id = any($1::uuid[])',
      [ids],
    );
    expect(rows.every((r) => r.attempts === 1)).toBe(true);
    expect(rows.every((r) => JSON.stringify(r.result) === '{"ok":true}')).toBe(true);
  });

  it('gathers jobs of one model into batches of the model size within its queue delay', async () => {
    await startPool({ models: models(8, 50) });
    const jobs = await enqueueJobs(
      db,
      Array.from({ length: 64 }, (_, n) => echo(n)),
    );

    await waitForStatuses(
      jobs.map((r) => r.job.id),
      ['completed'],
    );

    expect(batches.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 64 }, (_, n) => n));
    expect(Math.min(...batches.map((b) => b.length))).toBeGreaterThanOrEqual(8);
  });

  it('runs a partial batch once the first job has waited the max queue delay', async () => {
    await startPool({ models: models(8, 30) });
    const { job } = await enqueueJob(db, echo(7));

    await waitForStatuses([job.id], ['completed']);

    expect(batches).toEqual([[7]]);
  });

  it('gathers the jobs that arrive while two batches run into the next batch', async () => {
    await startPool({ models: models(8, 0) });
    const slow = (value: number) => echo(value, { payload: { value, sleepMs: 1000 } });
    const first = await enqueueJob(db, slow(1));
    await expect.poll(() => batches.length).toBe(1);
    const second = await enqueueJob(db, slow(2));
    await expect.poll(() => batches.length).toBe(2);

    // With no queue delay each would run alone at once, were there room at the model.
    const later: string[] = [];
    for (let value = 3; value <= 8; value++) {
      later.push((await enqueueJob(db, echo(value))).job.id);
      await sleep(20);
    }
    expect(batches).toHaveLength(2);

    await waitForStatuses([first.job.id, second.job.id, ...later], ['completed']);
    expect(batches).toEqual([[1], [2], [3, 4, 5, 6, 7, 8]]);
  });

  it('fails only the job at fault when a batch throws', async () => {
    await startPool({ models: models(4, 200) });
    const jobs = await enqueueJobs(db, [
      echo(1),
      echo(2, { payload: { value: 2, poison: true }, maxAttempts: 1 }),
      echo(3),
      echo(4),
    ]);
    const ids = jobs.map((r) => r.job.id);

    await waitForStatuses(ids, ['completed', 'dead']);

    const statuses = await Promise.all(ids.map(async (id) => (await rowOf(id)).status));
    expect(statuses).toEqual(['completed', 'dead', 'completed', 'completed']);
    expect(await rowOf(ids[1] as string)).toMatchObject({ error: { code: 'handler_error' } });
  });

  it('makes a job with a payload its type refuses dead, without running it', async () => {
    await startPool();
    const { job } = await enqueueJob(db, echo(1, { payload: { value: 'one' } }));

    await waitForStatuses([job.id], ['dead']);

    expect(await rowOf(job.id)).toMatchObject({ error: { code: 'invalid_payload' } });
    expect(batches).toEqual([]);
  });

  it("fires a running job's AbortSignal on cancel and ends it cancelled", async () => {
    await startPool({ models: models(1, 0) });
    const { job } = await enqueueJob(db, echo(1, { payload: { value: 1, sleepMs: 60_000 } }));
    await waitForStatuses([job.id], ['running']);
    await expect.poll(() => batches.length).toBe(1);

    await cancelJob(db, job.id);

    await waitForStatuses([job.id], ['cancelled'], 5000);
  });

  it('hears a cancellation request among the changes of a batched notification', async () => {
    await startPool({ models: models(1, 0) });
    const { job } = await enqueueJob(db, echo(1, { payload: { value: 1, sleepMs: 60_000 } }));
    const other = await enqueueJob(db, { type: 'noop', payload: {}, queue: 'batch' });
    await waitForStatuses([job.id], ['running']);
    await expect.poll(() => batches.length).toBe(1);

    // As a statement that announces its own rows does it: the row trigger stays quiet, and one
    // notification carries an array of changes.
    await db.transaction(async (tx) => {
      await tx.query(`select set_config('kai.job_changes_batched', 'on', true)`);
      await tx.query('update public.jobs set cancel_requested_at = now() where id = $1', [job.id]);
      const change = (id: string, cancelRequested: boolean) => ({
        op: 'update',
        id,
        type: 'test.echo',
        queue: 'batch',
        model: 'test-model',
        ownerId: null,
        status: 'running',
        progress: 0,
        progressMessage: null,
        cancelRequested,
      });
      await tx.query(`select pg_notify('kai_jobs', $1)`, [
        JSON.stringify([change(other.job.id, false), change(job.id, true)]),
      ]);
    });

    await waitForStatuses([job.id], ['cancelled'], 5000);
  });

  it('aborts a job that runs past its timeout and schedules a retry', async () => {
    await startPool({ models: models(1, 0) });
    const { job } = await enqueueJob(
      db,
      echo(1, { payload: { value: 1, sleepMs: 60_000 }, timeoutMs: 100, maxAttempts: 1 }),
    );

    await waitForStatuses([job.id], ['dead'], 5000);

    expect(await rowOf(job.id)).toMatchObject({ error: { code: 'timeout' } });
  });

  it('stops writing for a job whose lease was taken away', async () => {
    await startPool({ models: models(1, 0), leaseMs: 300 });
    const { job } = await enqueueJob(db, echo(1, { payload: { value: 1, sleepMs: 60_000 } }));
    await waitForStatuses([job.id], ['running']);
    await expect.poll(() => batches.length).toBe(1);

    // Another worker's view: the lease expired, was reclaimed and the job settled elsewhere.
    await db.query(
      `update public.jobs set status = 'cancelled', lease_token = null, lease_expires_at = null,
         finished_at = now() where id = $1`,
      [job.id],
    );
    await sleep(500);

    expect(await rowOf(job.id)).toMatchObject({ status: 'cancelled', result: null });
    expect(pools[0]?.heldCount()).toBe(0);
  });

  it('aborts an older attempt when this pool claims the same job again', async () => {
    await startPool({ models: models(1, 0), leaseMs: 60_000 });
    const { job } = await enqueueJob(
      db,
      echo(1, { payload: { value: 1, sleepMs: 60_000 }, maxAttempts: 3 }),
    );
    await waitForStatuses([job.id], ['running']);
    await expect.poll(() => batches.length).toBe(1);

    await db.query(
      `update public.jobs set lease_expires_at = now() - interval '1 second' where id = $1`,
      [job.id],
    );
    await expect.poll(() => batches.length, { timeout: 5000 }).toBe(2);
    await cancelJob(db, job.id);

    await waitForStatuses([job.id], ['cancelled'], 5000);
    expect(await rowOf(job.id)).toMatchObject({ attempts: 2 });
    await expect.poll(() => pools[0]?.heldCount()).toBe(0);
  });

  it('on drain, hands back jobs still waiting for a batch and finishes the running ones', async () => {
    const pool = await startPool({ models: models(8, 60_000) });
    const waiting = await enqueueJobs(db, [echo(1), echo(2), echo(3)]);
    await waitForStatuses(
      waiting.map((r) => r.job.id),
      ['running'],
    );

    await pool.drain();

    const rows = await db.query<{ status: string; attempts: number }>(
      'select status, attempts from public.jobs where id = any($1::uuid[])',
      [waiting.map((r) => r.job.id)],
    );
    expect(rows).toEqual(Array.from({ length: 3 }, () => ({ status: 'queued', attempts: 0 })));
    expect(batches).toEqual([]);
  });

  it('does not claim jobs of a model that is not ready', async () => {
    await startPool({ models: { get: () => undefined } });
    const { job } = await enqueueJob(db, echo(1));
    const noop = await enqueueJob(db, { type: 'noop', payload: {}, queue: 'maintenance' });

    await waitForStatuses([noop.job.id], ['completed']);

    expect(await rowOf(job.id)).toMatchObject({ status: 'queued' });
  });

  it('deletes finished jobs past retention and keeps the rest when it starts', async () => {
    const jobs = await enqueueJobs(db, [echo(1), echo(2)]);
    const [old, recent] = jobs.map((r) => r.job.id);
    await db.query(
      `update public.jobs set status = 'completed', finished_at = now() - $2 * interval '1 day'
       where id = $1`,
      [old, 10],
    );
    await db.query(
      `update public.jobs set status = 'completed', finished_at = now() where id = $1`,
      [recent],
    );

    await startPool({ retentionDays: 7 });

    await expect
      .poll(async () => (await db.query('select id from public.jobs')).map((r) => r.id))
      .toEqual([recent]);
  });

  describe('with prefetch', () => {
    it('holds up to concurrency + prefetch jobs but runs only concurrency at once', async () => {
      let inHandler = 0;
      let mostInHandler = 0;
      const slowNoop: JobHandler = {
        jobType: noopHandler.jobType as JobType,
        async run(jobs) {
          inHandler += jobs.length;
          mostInHandler = Math.max(mostInHandler, inHandler);
          await sleep(30);
          inHandler -= jobs.length;
          return jobs.map(() => ({ ok: true, result: null }));
        },
      };
      const jobs = await enqueueJobs(
        db,
        Array.from({ length: 40 }, () => ({ type: 'noop', payload: {}, queue: 'maintenance' })),
      );
      const pool = await startPool({ handlers: [slowNoop], concurrency: 4, prefetch: 12 });

      // Held in memory and claimed in the database at one moment. A batch that completes and
      // has not been replaced yet leaves fewer of either for a while, so the two are polled
      // together until a moment shows both.
      const runningInDatabase = async () =>
        (
          await db.query<{ n: number }>(
            `select count(*)::int as n from public.jobs where status = 'running'`,
          )
        )[0]?.n ?? 0;
      await expect
        .poll(async () => Math.min(pool.heldCount(), await runningInDatabase()), {
          timeout: 5000,
          interval: 5,
        })
        .toBeGreaterThanOrEqual(16);
      expect(pool.heldCount()).toBeLessThanOrEqual(2 * 16);
      await waitForStatuses(
        jobs.map((r) => r.job.id),
        ['completed'],
      );
      expect(mostInHandler).toBe(4);
    });

    it('starts prefetched jobs in priority order', async () => {
      const started: number[] = [];
      const recording: JobHandler = {
        jobType: echoType as JobType,
        async run(jobs) {
          started.push(...jobs.map((j) => (j.payload as { value: number }).value));
          await sleep(5);
          return jobs.map(() => ({ ok: true, result: null }));
        },
      };
      const values = [3, 9, 1, 7, 5, 8, 2, 6, 4, 0];
      await enqueueJobs(
        db,
        values.map((v) => echo(v, { priority: v })),
      );

      await startPool({
        handlers: [recording],
        models: models(1, 0),
        concurrency: 1,
        prefetch: 20,
      });

      await expect.poll(() => started.length, { timeout: 5000 }).toBe(values.length);
      expect(started).toEqual([...values].sort((a, b) => b - a));
    });

    it('on drain, hands back prefetched jobs that never started, attempts untouched', async () => {
      const pool = await startPool({ models: models(1, 0), concurrency: 1, prefetch: 5 });
      const first = await enqueueJob(db, echo(0, { payload: { value: 0, sleepMs: 300 } }));
      await expect.poll(() => batches.length).toBe(1);
      const rest = await enqueueJobs(db, [echo(1), echo(2), echo(3)]);
      await expect.poll(() => pool.heldCount()).toBe(4);

      await pool.drain();

      expect(await rowOf(first.job.id)).toMatchObject({ status: 'completed' });
      const rows = await db.query<{ status: string; attempts: number }>(
        'select status, attempts from public.jobs where id = any($1::uuid[])',
        [rest.map((r) => r.job.id)],
      );
      expect(rows).toEqual(Array.from({ length: 3 }, () => ({ status: 'queued', attempts: 0 })));
      expect(batches).toEqual([[0]]);
    });

    it('cancels a prefetched job at once, without waiting for a slot', async () => {
      const pool = await startPool({ models: models(1, 0), concurrency: 1, prefetch: 5 });
      const blocker = await enqueueJob(db, echo(0, { payload: { value: 0, sleepMs: 60_000 } }));
      await expect.poll(() => batches.length).toBe(1);
      const { job } = await enqueueJob(db, echo(1));
      await expect.poll(() => pool.heldCount()).toBe(2);

      await cancelJob(db, job.id);

      await waitForStatuses([job.id], ['cancelled'], 5000);
      expect(batches).toEqual([[0]]);
      await cancelJob(db, blocker.job.id);
      await waitForStatuses([blocker.job.id], ['cancelled'], 5000);
    });
  });
});
