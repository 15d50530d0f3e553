import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULTS } from '../../core/config/defaults.ts';
import type { Database } from '../../core/db/database.ts';
import { createLogger } from '../../core/logging/logger.ts';
import { enqueueJobs } from '../../core/queue/enqueue.ts';
import type { JobHandler } from '../../gpu-pool/handlers/handler.ts';
import type { ModelRepository } from '../../gpu-pool/models/model-repository.ts';
import type { ModelProvider } from '../../gpu-pool/pool-model.ts';
import { repositoryModels } from '../../gpu-pool/repository-models.ts';
import { createWorkerPool, type WorkerPool } from '../../gpu-pool/worker-pool.ts';
import { drain } from './drain.ts';
import { DrainRecorder } from './drain-recorder.ts';
import type { BenchModel } from './pool-models.ts';

/** How the pool is run: the same for the unbatched and the batched run but for `batched`. */
export interface PoolRunOptions {
  model: BenchModel;
  db: Database;
  repository: ModelRepository;
  jobs: number;
  concurrency: number;
  /** BATCH_SIZE_LIMIT: 16 for the batched run. */
  batchSizeLimit: number;
  /** False forces batch size 1 whatever the manifest prefers. */
  batched: boolean;
  /** Jobs claimed ahead of free handler slots (POOL_PREFETCH). */
  prefetch: number;
}

const ENQUEUE_CHUNK = 100;
const PACE_TICK_MS = 10;

/**
 * Enqueues `jobs` jobs of the bench model, then starts Kai's pool on them and times the drain until
 * the jobs table shows all completed. Returns samples per second; the pool is left running for
 * `measurePacedLatency` and must be drained by the caller.
 */
export async function measurePoolDrain(
  options: PoolRunOptions,
): Promise<{ perSec: number; pool: WorkerPool }> {
  const recorder = new DrainRecorder();
  for (let from = 0; from < options.jobs; from += ENQUEUE_CHUNK) {
    const count = Math.min(ENQUEUE_CHUNK, options.jobs - from);
    const specs = Array.from({ length: count }, (_, i) => options.model.jobOf(from + i));
    recorder.enqueued((await enqueueJobs(options.db, specs)).map((r) => r.job.id));
  }

  const pool = createWorkerPool({
    db: options.db,
    logger: createLogger({ level: process.env.BENCH_LOG_LEVEL ?? 'silent' }),
    handlers: [recording(options.model.handler, recorder)],
    models: provider(options),
    queueClasses: { batch: { concurrency: Math.max(1000, options.concurrency), weight: 1 } },
    leaseMs: 60_000,
    retry: { baseMs: 1000, maxMs: 60_000 },
    concurrency: options.concurrency,
    prefetch: options.prefetch,
    batchSizeLimit: options.batchSizeLimit,
    // The deployed pool's fallback poll; job notifications wake it. A 10 ms poll made every
    // pool whose backlog was all claimed run ten times as many empty claims as real ones,
    // each costing its process CPU that the model's threads then lacked.
    pollIntervalMs: DEFAULTS.POOL_POLL_INTERVAL_MS,
  });
  const times = await drain(
    {
      start: () => pool.start(),
      remaining: () => pendingCount(options.db),
      stop: async () => {},
    },
    recorder,
    Math.max(120_000, options.jobs * 20),
  );
  if (!times.finished) throw new Error('The pool did not finish its jobs within the time limit.');
  return { perSec: recorder.summary(times.startMs, times.endMs).jobsPerSec, pool };
}

/**
 * Enqueues `jobs` more jobs at `ratePerSec` (a small chunk every 10 ms, as requests arrive)
 * into a running pool, whose finished jobs are cleared first, and returns the 95th percentile
 * of `finished_at - created_at` over them.
 */
export async function measurePacedLatency(
  model: BenchModel,
  db: Database,
  jobs: number,
  ratePerSec: number,
): Promise<number> {
  await clearJobs(db);
  const startMs = performance.now();
  let sent = 0;
  while (sent < jobs) {
    const due = Math.min(jobs, Math.floor(((performance.now() - startMs) / 1000) * ratePerSec));
    if (due > sent) {
      await enqueueJobs(
        db,
        Array.from({ length: due - sent }, (_, i) => model.jobOf(sent + i)),
      );
      sent = due;
    }
    await sleep(PACE_TICK_MS);
  }
  while ((await pendingCount(db)) > 0) await sleep(PACE_TICK_MS);

  const [row] = await db.query<{ p95: number }>(
    `select percentile_cont(0.95) within group (
       order by extract(epoch from finished_at - created_at) * 1000) as p95
     from public.jobs`,
  );
  return Number(row?.p95 ?? 0);
}

/** Clears the jobs table between runs, so each run's counts and latencies are its own. */
export async function clearJobs(db: Database): Promise<void> {
  await db.exec('delete from public.jobs');
}

async function pendingCount(db: Database): Promise<number> {
  const [row] = await db.query<{ n: number }>(
    `select count(*)::int as n from public.jobs where status <> 'completed'`,
  );
  return row?.n ?? 0;
}

/** The repository's models, with batching forced off (batch size 1) unless `batched`. */
function provider(options: PoolRunOptions): ModelProvider {
  const models = repositoryModels(options.repository, options.batchSizeLimit);
  if (options.batched) return models;
  return {
    get(name) {
      const model = models.get(name);
      return model && { ...model, batchSize: 1 };
    },
  };
}

function recording(inner: JobHandler, recorder: DrainRecorder): JobHandler {
  return {
    jobType: inner.jobType,
    async run(jobs, context) {
      const outcomes = await inner.run(jobs, context);
      for (const job of jobs) recorder.handled(job.id);
      return outcomes;
    },
  };
}
