import type { Database } from '../core/db/database.ts';
import { JOB_EVENTS_CHANNEL, type JobChange } from '../core/jobs/job-events.ts';
import type { Logger } from '../core/logging/logger.ts';

export interface WorkerPoolOptions {
  db: Database;
  logger: Logger;
}

/** The GPU worker pool's lifecycle, shared by `npm run pool` and `npm start`. */
export interface WorkerPool {
  /** Subscribes to job changes; resolves once the pool is ready to take work. */
  start(): Promise<void>;
  isReady(): boolean;
  /** Stops taking work and lets running work finish; resolves when nothing runs. */
  drain(): Promise<void>;
}

/**
 * Creates the pool. It wakes on the jobs table's notifications rather than polling.
 *
 * Limitation: this is the pool's lifecycle only (subscribe, readiness, drain); it claims and
 * runs no jobs until the queue's claim, lease and handler registry are built on it.
 */
export function createWorkerPool(options: WorkerPoolOptions): WorkerPool {
  const logger = options.logger.child({ component: 'pool' });
  let unlisten: (() => Promise<void>) | undefined;
  let ready = false;

  const onJobChange = (payload: string) => {
    const change = JSON.parse(payload) as JobChange;
    logger.debug({ jobId: change.id, status: change.status }, 'job changed');
  };

  return {
    async start() {
      unlisten = await options.db.listen(JOB_EVENTS_CHANNEL, onJobChange);
      ready = true;
      logger.info('pool ready');
    },

    isReady: () => ready,

    async drain() {
      ready = false;
      await unlisten?.();
      unlisten = undefined;
      logger.info('pool drained');
    },
  };
}
