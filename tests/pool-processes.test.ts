// Several pool processes (`npm run pool`, as Kubernetes runs it) against one real Postgres
// database: they share the queue without running a job twice, keep a class's concurrency over
// all of them, take over the jobs of a process that was killed, and batch model work. Only on
// the real Postgres leg, since PGlite belongs to one process; the refusal without DATABASE_URL
// runs on both legs.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { Database } from '../core/db/database.ts';
import { enqueueJob, enqueueJobs } from '../core/queue/enqueue.ts';
import type { JobRow } from '../core/queue/job.ts';
import { LeaseLostError } from '../core/queue/queue-errors.ts';
import { completeJob } from '../core/queue/settle-jobs.ts';
import { buildSyntheticMlp } from '../scripts/build-models.ts';
import {
  killPoolProcess,
  logLines,
  type PoolProcess,
  sampleValue,
  scrapeMetrics,
  startPoolProcess,
  transcript,
  waitFor,
  waitForReady,
} from './helpers/pool-process.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

const ON_POSTGRES = Boolean(process.env.DATABASE_URL);

/** A pool process loads onnxruntime and opens its database; slow on a busy two-core machine. */
const READY_WITHIN_MS = 60_000;
const JOBS_DONE_WITHIN_MS = 120_000;
const EXIT_WITHIN_MS = 30_000;
const SAMPLE_INTERVAL_MS = 25;
/** Pino's level number for `error`. */
const ERROR_LEVEL = 50;

const pools: PoolProcess[] = [];
const testDbs: TestDatabase[] = [];
const tempDirs: string[] = [];

afterEach(async () => {
  await Promise.all(pools.splice(0).map(killPoolProcess));
  await Promise.all(testDbs.splice(0).map((testDb) => testDb.drop()));
  await Promise.all(tempDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A fresh migrated database of this test's own, with its URL for the pool processes. */
async function freshDatabase(): Promise<{ db: Database; url: string }> {
  const testDb = await createTestDatabase();
  testDbs.push(testDb);
  if (!testDb.url) throw new Error('The real Postgres leg gave a test database without a URL.');
  return { db: testDb.db, url: testDb.url };
}

/** An empty directory, removed after the test: a model repository, or a data dir. */
async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kai-pool-processes-'));
  tempDirs.push(dir);
  return dir;
}

/**
 * Starts one pool process that polls every 200 ms and keeps few connections, since several run
 * beside other test files on one server; `env` adds to or overrides that.
 */
function startPool(env: Record<string, string>): PoolProcess {
  const pool = startPoolProcess({ POOL_POLL_INTERVAL_MS: '200', DATABASE_POOL_MAX: '4', ...env });
  pools.push(pool);
  return pool;
}

/** How many of `ids` have each status. */
async function statusCounts(db: Database, ids: readonly string[]): Promise<Record<string, number>> {
  const rows = await db.query<{ status: string; jobs: number }>(
    `select status, count(*)::int as jobs from public.jobs where id = any($1::uuid[])
     group by status`,
    [ids],
  );
  return Object.fromEntries(rows.map((row) => [row.status, row.jobs]));
}

/** Waits until every job of `ids` is completed, failing early when a pool process exits. */
async function waitForCompleted(
  db: Database,
  ids: readonly string[],
  watched: readonly PoolProcess[],
): Promise<void> {
  await waitFor(
    `${ids.length} jobs completed`,
    JOBS_DONE_WITHIN_MS,
    async () => ((await statusCounts(db, ids)).completed === ids.length ? true : undefined),
    watched,
  );
}

async function jobRow(db: Database, id: string): Promise<JobRow> {
  const [row] = await db.query<JobRow>('select * from public.jobs where id = $1', [id]);
  if (!row) throw new Error(`Job ${id} is not in public.jobs.`);
  return row;
}

/** The log lines at error level or above of every process in `watched`. */
function errorLines(watched: readonly PoolProcess[]): Record<string, unknown>[] {
  return watched.flatMap((pool) =>
    logLines(pool).filter((line) => Number(line.level) >= ERROR_LEVEL),
  );
}

/** A 256-value input for `synthetic.mlp`, the same for the same seed. */
function mlpInput(seed: number): number[] {
  return Array.from({ length: 256 }, (_, i) => Math.sin(seed * 256 + i));
}

describe.skipIf(!ON_POSTGRES)('pool processes on the real Postgres', () => {
  it(
    'runs 2,000 jobs over three processes, each exactly once, with the work spread over them',
    async ({ annotate }) => {
      const { db, url } = await freshDatabase();
      const env = {
        DATABASE_URL: url,
        MODEL_DIR: await freshDir(),
        KAI_QUEUES: JSON.stringify({ maintenance: { concurrency: 100, weight: 1 } }),
      };
      const running = [startPool(env), startPool(env), startPool(env)];
      const probeUrls = await Promise.all(running.map((p) => waitForReady(p, READY_WITHIN_MS)));

      const startedMs = performance.now();
      const enqueued = await enqueueJobs(
        db,
        Array.from({ length: 2000 }, () => ({ type: 'noop', payload: {}, queue: 'maintenance' })),
      );
      const ids = enqueued.map((r) => r.job.id);
      await waitForCompleted(db, ids, running);
      await annotate(`2,000 jobs completed in ${Math.round(performance.now() - startedMs)} ms`);

      // Nothing ran twice: a second attempt would show in `attempts`.
      const rows = await db.query<{ status: string; attempts: number; jobs: number }>(
        `select status, attempts, count(*)::int as jobs from public.jobs group by status, attempts`,
      );
      expect(rows).toEqual([{ status: 'completed', attempts: 1, jobs: 2000 }]);

      // Each process counts what it settled; a process counts a job after its write commits.
      const settledPerProcess = await waitFor(
        'the settled counters adding up to 2,000',
        EXIT_WITHIN_MS,
        async () => {
          const counts = await Promise.all(
            probeUrls.map(async (probeUrl) =>
              sampleValue(await scrapeMetrics(probeUrl), 'kai_pool_jobs_settled_total', {
                type: 'noop',
                outcome: 'completed',
              }),
            ),
          );
          return counts.reduce((a, b) => a + b, 0) >= 2000 ? counts : undefined;
        },
        running,
      );
      await annotate(`completed per process: ${settledPerProcess.join(', ')}`);
      expect(settledPerProcess.reduce((a, b) => a + b, 0)).toBe(2000);
      expect(settledPerProcess.filter((count) => count > 0).length).toBeGreaterThanOrEqual(2);

      expect(errorLines(running)).toEqual([]);
    },
    READY_WITHIN_MS + JOBS_DONE_WITHIN_MS + EXIT_WITHIN_MS,
  );

  it(
    'reruns the job of a SIGKILLed process once its lease expires and refuses the old token',
    async () => {
      const { db, url } = await freshDatabase();
      const env = {
        DATABASE_URL: url,
        MODEL_DIR: await freshDir(),
        KAI_QUEUES: JSON.stringify({ maintenance: { concurrency: 10, weight: 1 } }),
      };
      const first = startPool({ ...env, JOB_LEASE_MS: '2000' });
      await waitForReady(first, READY_WITHIN_MS);

      const { job } = await enqueueJob(db, {
        type: 'noop',
        payload: { sleepMs: 60_000 },
        queue: 'maintenance',
        maxAttempts: 3,
      });
      const held = await waitFor(
        'the job running in the first process',
        JOBS_DONE_WITHIN_MS,
        async () => {
          const row = await jobRow(db, job.id);
          return row.status === 'running' ? row : undefined;
        },
        [first],
      );
      expect(held.attempts).toBe(1);

      // Killed, the process renews nothing more: the row keeps the lease it last had.
      await killPoolProcess(first);
      const killed = await jobRow(db, job.id);
      expect(killed).toMatchObject({
        status: 'running',
        attempts: 1,
        lease_token: held.lease_token,
      });
      const expiredAtMs = (killed.lease_expires_at as Date).getTime();

      // The rerun sleeps a few seconds, long enough to watch it; its longer lease outlasts a
      // busy machine's late heartbeat.
      await db.query('update public.jobs set payload = $2 where id = $1', [
        job.id,
        { sleepMs: 5000 },
      ]);
      const second = startPool({ ...env, JOB_LEASE_MS: '30000' });
      const rerun = await waitFor(
        'the second attempt running',
        JOBS_DONE_WITHIN_MS,
        async () => {
          const row = await jobRow(db, job.id);
          return row.attempts === 2 ? row : undefined;
        },
        [second],
      );
      expect(rerun.status).toBe('running');
      expect(rerun.error).toMatchObject({ code: 'lease_expired', workerId: held.worker_id });
      expect(rerun.lease_token).not.toBe(held.lease_token);
      expect((rerun.started_at as Date).getTime()).toBeGreaterThanOrEqual(expiredAtMs);

      const oldLease = { jobId: job.id, leaseToken: held.lease_token as string };
      await expect(completeJob(db, oldLease, { from: 'the killed process' })).rejects.toThrow(
        LeaseLostError,
      );
      expect(await jobRow(db, job.id)).toMatchObject({ status: 'running', attempts: 2 });

      // Completion clears the error the reclaim recorded.
      await waitForCompleted(db, [job.id], [second]);
      expect(await jobRow(db, job.id)).toMatchObject({
        status: 'completed',
        attempts: 2,
        error: null,
        result: { ok: true },
      });

      await expect(completeJob(db, oldLease, { from: 'the killed process' })).rejects.toThrow(
        LeaseLostError,
      );
      expect(await jobRow(db, job.id)).toMatchObject({ status: 'completed', result: { ok: true } });
    },
    2 * READY_WITHIN_MS + 2 * JOBS_DONE_WITHIN_MS,
  );

  it(
    'keeps a class at its concurrency of 3 over two processes and reaches that limit',
    async ({ annotate }) => {
      const { db, url } = await freshDatabase();
      const env = {
        DATABASE_URL: url,
        MODEL_DIR: await freshDir(),
        KAI_QUEUES: JSON.stringify({ interactive: { concurrency: 3, weight: 1 } }),
      };
      const running = [startPool(env), startPool(env)];
      await Promise.all(running.map((pool) => waitForReady(pool, READY_WITHIN_MS)));

      const enqueued = await enqueueJobs(
        db,
        Array.from({ length: 20 }, () => ({
          type: 'noop',
          payload: { sleepMs: 300 },
          queue: 'interactive',
        })),
      );
      const ids = enqueued.map((r) => r.job.id);

      // Sample how many run until all are done.
      const deadlineMs = performance.now() + JOBS_DONE_WITHIN_MS;
      const samples: number[] = [];
      while (true) {
        const [counts] = await db.query<{ running: number; completed: number }>(
          `select count(*) filter (where status = 'running')::int as running,
                  count(*) filter (where status = 'completed')::int as completed
           from public.jobs where queue = 'interactive'`,
        );
        samples.push(counts?.running ?? 0);
        if (counts?.completed === ids.length) break;

        const dead = running.find((pool) => pool.ended);
        if (dead) throw new Error(`A pool process exited.\n${transcript(dead)}`);
        if (performance.now() > deadlineMs) {
          throw new Error(`20 jobs did not complete: ${JSON.stringify(counts)}`);
        }
        await sleep(SAMPLE_INTERVAL_MS);
      }
      const maxRunning = Math.max(...samples);
      await annotate(`${samples.length} samples, at most ${maxRunning} running at once`);

      expect(maxRunning).toBeLessThanOrEqual(3);
      expect(maxRunning).toBeGreaterThanOrEqual(2);
      expect(await statusCounts(db, ids)).toEqual({ completed: 20 });
    },
    READY_WITHIN_MS + JOBS_DONE_WITHIN_MS,
  );

  it(
    'runs 64 synthetic-mlp jobs enqueued at once in batches of 8 or more, with stable outputs',
    async ({ annotate }) => {
      const { db, url } = await freshDatabase();
      const modelDir = await freshDir();
      await buildSyntheticMlp(modelDir, {
        preferredBatchSizes: [8, 16, 32, 64],
        maxQueueDelayMs: 20,
      });
      const pool = startPool({
        DATABASE_URL: url,
        MODEL_DIR: modelDir,
        KAI_QUEUES: JSON.stringify({ batch: { concurrency: 100, weight: 1 } }),
        BATCH_SIZE_LIMIT: '64',
        POOL_CONCURRENCY: '64',
      });
      const probeUrl = await waitForReady(pool, READY_WITHIN_MS);

      // The last input repeats the first, so their outputs can be compared.
      const inputs = Array.from({ length: 64 }, (_, n) => mlpInput(n === 63 ? 0 : n));
      const enqueued = await enqueueJobs(
        db,
        inputs.map((input) => ({
          type: 'synthetic.mlp',
          payload: { input },
          queue: 'batch',
          model: 'synthetic-mlp',
        })),
      );
      const ids = enqueued.map((r) => r.job.id);
      await waitForCompleted(db, ids, [pool]);

      const rows = await db.query<{ id: string; result: { output: number[] } }>(
        'select id, result from public.jobs where id = any($1::uuid[])',
        [ids],
      );
      const outputOf = new Map(rows.map((row) => [row.id, row.result.output]));
      const outputs = ids.map((id) => outputOf.get(id) ?? []);
      for (const output of outputs) {
        expect(output).toHaveLength(64);
        expect(output.every(Number.isFinite)).toBe(true);
      }
      expect(outputs[63]).toEqual(outputs[0]);
      expect(outputs[1]).not.toEqual(outputs[0]);

      // Histogram buckets are cumulative: `le="4"` counts the batches of 4 or fewer jobs.
      const samples = await scrapeMetrics(probeUrl);
      const model = { model: 'synthetic-mlp' };
      const bucket = (le: string) =>
        sampleValue(samples, 'kai_pool_batch_size_bucket', { ...model, le });
      const batchCount = sampleValue(samples, 'kai_pool_batch_size_count', model);
      const jobsInBatches = sampleValue(samples, 'kai_pool_batch_size_sum', model);
      const bucketCounts = ['4', '8', '16', '32', '64', '+Inf'].map((le) => `${le}:${bucket(le)}`);
      await annotate(`batch count ${batchCount}; cumulative buckets ${bucketCounts.join(' ')}`);

      expect(jobsInBatches).toBe(64);
      expect(batchCount).toBeGreaterThanOrEqual(1);
      expect(bucket('+Inf')).toBe(batchCount);
      expect(bucket('4')).toBe(0);
      expect(jobsInBatches / batchCount).toBeGreaterThanOrEqual(8);
    },
    READY_WITHIN_MS + JOBS_DONE_WITHIN_MS,
  );
});

describe('a pool process without DATABASE_URL', () => {
  it(
    'exits non-zero with one stderr line saying it cannot start the pool',
    async () => {
      const pool = startPool({ MODEL_DIR: await freshDir(), KAI_DATA_DIR: await freshDir() });

      await waitFor('the process exiting', EXIT_WITHIN_MS, async () => pool.ended);

      expect(pool.ended?.code, transcript(pool)).not.toBe(0);
      expect(pool.ended?.code).not.toBeNull();
      const lines = pool.stderr.split('\n').filter((line) => line.trim() !== '');
      expect(lines, transcript(pool)).toHaveLength(1);
      expect(lines[0]).toMatch(/^Kai cannot start the pool/);
    },
    EXIT_WITHIN_MS * 2,
  );
});
