import { KaiError } from '../errors.ts';

/**
 * The worker's lease on a job is gone (expired, reclaimed or the job was cancelled): the write
 * it tried was refused, and the job's fate belongs to whoever holds it now.
 */
export class LeaseLostError extends KaiError {
  constructor(jobId: string) {
    super({
      code: 'lease_lost',
      status: 409,
      title: 'Lease lost',
      detail: `The lease on job ${jobId} is no longer held by this worker; its write was refused.`,
    });
  }
}

/** The idempotency key was used before with another request. */
export class IdempotencyConflictError extends KaiError {
  constructor(key: string, existingJobId: string) {
    super(
      {
        code: 'idempotency_conflict',
        status: 422,
        title: 'Idempotency key reused',
        detail:
          `The idempotency key ${JSON.stringify(key)} was used for another job with a ` +
          'different request. Use a new key for a new job.',
      },
      { extensions: { jobId: existingJobId } },
    );
  }
}

/** A job names a queue class that `KAI_QUEUES` does not define. */
export class UnknownQueueError extends KaiError {
  constructor(queue: string, known: readonly string[]) {
    super(
      {
        code: 'unknown_queue',
        status: 422,
        title: 'Unknown queue',
        detail: `There is no queue class ${JSON.stringify(queue)}; use one of ${known.join(', ')}.`,
      },
      { extensions: { queues: known } },
    );
  }
}
