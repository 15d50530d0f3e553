import { Logger, makeWorkerUtils, run, runMigrations } from 'graphile-worker';
import postgres from 'postgres';
import { chunks, type QueueSystem } from './queue-system.ts';
import { createScratchDatabase } from './scratch-database.ts';

/** graphile-worker's documented batching: a local queue and batched completions. */
export interface GraphileTuning {
  /** Jobs the pool locks and fetches at once (`localQueue.size`). */
  localQueueSize: number;
  pollIntervalMs: number;
}

const silentLogger = new Logger(() => () => {});

/**
 * graphile-worker on its own database: no-op jobs added with `addJobs` in chunks, then a
 * runner with `concurrentJobs` workers whose task records each job by payload index.
 */
export function graphileQueueSystem(tuning: GraphileTuning): QueueSystem {
  return {
    name: 'graphile-worker',

    describe: (settings) =>
      `concurrentJobs ${settings.concurrency}, localQueue.size ${tuning.localQueueSize}, ` +
      'completeJobBatchDelay 0, failJobBatchDelay 0, ' +
      `pollInterval ${tuning.pollIntervalMs} ms, maxPoolSize ${settings.poolMax}`,

    async prepare(settings, recorder) {
      const scratch = await createScratchDatabase(settings.serverUrl, 'graphile');
      const preset = {
        worker: {
          connectionString: scratch.url,
          concurrentJobs: settings.concurrency,
          maxPoolSize: settings.poolMax,
          pollInterval: tuning.pollIntervalMs,
          localQueue: { size: tuning.localQueueSize },
          completeJobBatchDelay: 0,
          failJobBatchDelay: 0,
        },
      };
      await runMigrations({ preset, logger: silentLogger });

      const utils = await makeWorkerUtils({ preset, logger: silentLogger });
      try {
        for (const chunk of chunks(settings.jobs, settings.enqueueChunk)) {
          await utils.addJobs(chunk.map((i) => ({ identifier: 'noop', payload: { i } })));
          recorder.enqueued(chunk.map(String));
        }
      } finally {
        await utils.release();
      }

      const checker = postgres(scratch.url, { max: 1, onnotice: () => {} });
      if (settings.analyze) await checker`analyze`;
      let runner: Awaited<ReturnType<typeof run>> | undefined;
      return {
        async start() {
          runner = await run({
            preset,
            logger: silentLogger,
            noHandleSignals: true,
            taskList: {
              noop: async (payload) => {
                recorder.handled(String((payload as { i: number }).i));
              },
            },
          });
        },
        async remaining() {
          const [row] = await checker<{ n: number }[]>`
            select count(*)::int as n from graphile_worker._private_jobs`;
          return row?.n ?? 0;
        },
        async stop() {
          await runner?.stop();
          await checker.end();
          await scratch.drop();
        },
      };
    },
  };
}
