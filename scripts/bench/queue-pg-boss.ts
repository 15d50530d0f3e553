import { PgBoss } from 'pg-boss';
import postgres from 'postgres';
import { progress } from './bench-output.ts';
import { chunks, type QueueSystem } from './queue-system.ts';
import { createScratchDatabase } from './scratch-database.ts';

const QUEUE = 'noop';

/** pg-boss's fastest documented way to drain a backlog: batch fetching, bursting while full. */
export interface PgBossTuning {
  /**
   * Jobs per fetch, 0 for the concurrency; `floor(concurrency / batchSize)` workers then hold
   * `concurrency` jobs at most. One worker fetching the whole concurrency drained fastest here.
   */
  batchSize: number;
}

/**
 * pg-boss on its own database: no-op jobs inserted in chunks, then batch workers whose handler
 * records each job of the batch by payload index; pg-boss completes the batch in one query.
 */
export function pgBossQueueSystem(tuning: PgBossTuning): QueueSystem {
  const shapeOf = (concurrency: number) => {
    const batchSize = Math.min(tuning.batchSize || concurrency, concurrency);
    return { batchSize, workers: Math.max(1, Math.floor(concurrency / batchSize)) };
  };

  return {
    name: 'pg-boss',

    describe(settings) {
      const { batchSize, workers } = shapeOf(settings.concurrency);
      return (
        `localConcurrency ${workers} x batchSize ${batchSize}, burstWhenBatchFull, ` +
        `pollingIntervalSeconds 0.5, max ${settings.poolMax}, supervise/schedule off`
      );
    },

    async prepare(settings, recorder) {
      const scratch = await createScratchDatabase(settings.serverUrl, 'pgboss');
      const boss = new PgBoss({
        connectionString: scratch.url,
        max: settings.poolMax,
        supervise: false,
        schedule: false,
      });
      boss.on('error', (error) => progress(`  pg-boss error: ${error.message}`));
      await boss.start();
      await boss.createQueue(QUEUE);

      for (const chunk of chunks(settings.jobs, settings.enqueueChunk)) {
        await boss.insert(
          QUEUE,
          chunk.map((i) => ({ data: { i } })),
        );
        recorder.enqueued(chunk.map(String));
      }

      const checker = postgres(scratch.url, { max: 1, onnotice: () => {} });
      if (settings.analyze) await checker`analyze`;
      const { batchSize, workers } = shapeOf(settings.concurrency);
      return {
        async start() {
          await boss.work<{ i: number }>(
            QUEUE,
            {
              batchSize,
              localConcurrency: workers,
              pollingIntervalSeconds: 0.5,
              burstWhenBatchFull: true,
            },
            async (jobs) => {
              for (const job of jobs) recorder.handled(String(job.data.i));
            },
          );
        },
        async remaining() {
          const [row] = await checker<{ n: number }[]>`
            select count(*)::int as n from pgboss.job
            where name = ${QUEUE} and state <> 'completed'`;
          return row?.n ?? 0;
        },
        async stop() {
          await boss.stop({ graceful: true, timeout: 10_000 });
          await checker.end();
          await scratch.drop();
        },
      };
    },
  };
}
