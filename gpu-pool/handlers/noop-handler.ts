import { setTimeout as sleep } from 'node:timers/promises';
import { JOB_TYPES } from '../../core/jobs/job-types.ts';
import { type JobHandler, type JobOutcome, retryable } from './handler.ts';

type NoopPayload = { sleepMs?: number | undefined };

/** Completes each job with `{ ok: true }`, after `sleepMs` when asked; stops when aborted. */
export const noopHandler: JobHandler<NoopPayload> = {
  jobType: JOB_TYPES.get('noop') as JobHandler<NoopPayload>['jobType'],

  run: (jobs) =>
    Promise.all(
      jobs.map(async (job): Promise<JobOutcome> => {
        try {
          if (job.payload.sleepMs) {
            await sleep(job.payload.sleepMs, undefined, { signal: job.signal });
          }
          return { ok: true, result: { ok: true } };
        } catch (error) {
          return retryable('interrupted', (error as Error).message);
        }
      }),
    ),
};
