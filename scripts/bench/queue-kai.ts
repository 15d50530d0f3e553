import { createLogger } from '../../core/logging/logger.ts';
import { enqueueJobs } from '../../core/queue/enqueue.ts';
import type { JobHandler } from '../../gpu-pool/handlers/handler.ts';
import { noopHandler } from '../../gpu-pool/handlers/noop-handler.ts';
import { createWorkerPool } from '../../gpu-pool/worker-pool.ts';
import type { DrainRecorder } from './drain-recorder.ts';
import { openKaiBenchDatabase } from './kai-bench-database.ts';
import { chunks, type QueueBenchSettings, type QueueSystem } from './queue-system.ts';

/** Kai's own tuning for a drain of no-op jobs. */
export interface KaiQueueTuning {
  /** The largest claim; 0 means as large as the concurrency allows. */
  batchSizeLimit: number;
  /** Jobs claimed ahead of free handler slots (POOL_PREFETCH), as graphile's local queue. */
  prefetch: number;
  pollIntervalMs: number;
}

/**
 * Kai's real worker pool, in this process, on its own migrated database: no-op jobs in the
 * `maintenance` class, run by the noop handler, recorded by job id once the handler returns.
 * The peers have no global class limit, so the class's limit is set out of reach; handlers
 * run `concurrency` jobs at once, as the peers' workers do.
 */
export function kaiQueueSystem(tuning: KaiQueueTuning): QueueSystem {
  const batchSizeOf = (settings: QueueBenchSettings) =>
    tuning.batchSizeLimit > 0 ? tuning.batchSizeLimit : settings.concurrency;

  return {
    name: 'kai',

    describe: (settings) =>
      `concurrency ${settings.concurrency}, prefetch ${tuning.prefetch}, ` +
      `batchSizeLimit ${batchSizeOf(settings)}, pollIntervalMs ${tuning.pollIntervalMs}, ` +
      `poolMax ${settings.poolMax}`,

    async prepare(settings, recorder) {
      const opened = await openKaiBenchDatabase(settings.serverUrl, {
        label: 'kai',
        poolMax: settings.poolMax,
      });
      const { db } = opened;

      for (const chunk of chunks(settings.jobs, settings.enqueueChunk)) {
        const specs = chunk.map(() => ({ type: 'noop', payload: {}, queue: 'maintenance' }));
        const results = await enqueueJobs(db, specs);
        recorder.enqueued(results.map((r) => r.job.id));
      }

      if (settings.analyze) await db.exec('analyze');

      const pool = createWorkerPool({
        db,
        logger: createLogger({ level: process.env.BENCH_LOG_LEVEL ?? 'silent' }),
        handlers: [recordingNoop(recorder)],
        queueClasses: {
          maintenance: { concurrency: 100_000, weight: 1 },
        },
        leaseMs: 60_000,
        retry: { baseMs: 1000, maxMs: 60_000 },
        concurrency: settings.concurrency,
        prefetch: tuning.prefetch,
        batchSizeLimit: batchSizeOf(settings),
        pollIntervalMs: tuning.pollIntervalMs,
      });

      return {
        start: () => pool.start(),
        async remaining() {
          const [row] = await db.query<{ n: number }>(
            `select count(*)::int as n from public.jobs where status <> 'completed'`,
          );
          return row?.n ?? 0;
        },
        async stop() {
          await pool.drain();
          await opened.close();
        },
      };
    },
  };
}

/** Kai's noop handler, telling the recorder of each job once the handler has returned. */
function recordingNoop(recorder: DrainRecorder): JobHandler {
  const inner = noopHandler as JobHandler;
  return {
    jobType: inner.jobType,
    async run(jobs, context) {
      const outcomes = await inner.run(jobs, context);
      for (const job of jobs) recorder.handled(job.id);
      return outcomes;
    },
  };
}
