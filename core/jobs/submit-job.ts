import type { Queryable } from '../db/database.ts';
import { ValidationError } from '../errors.ts';
import { type EnqueueResult, enqueueJob, type JobSpec } from '../queue/enqueue.ts';
import type { QueueClasses } from '../queue/queue-classes.ts';
import { UnknownQueueError } from '../queue/queue-errors.ts';
import { ParametersTaskMismatchError, RegistryDisabledError } from '../registry/registry-errors.ts';
import { DEFAULT_REGISTRY_SETTINGS, type RegistrySettings } from '../registry/registry-settings.ts';
import { type ParametersRef, resolveParameters } from '../registry/resolve-parameters.ts';
import { assertJobTypeAvailable } from './job-availability.ts';
import { jobTypeOf } from './job-types.ts';

/** A submission as the API receives it, before Kai checks it. */
export interface Submission {
  type: string;
  payload: unknown;
  ownerId: string | null;
  /** Another class than the type's own, such as `interactive` for a user waiting on it. */
  queue?: string | undefined;
  priority?: number | undefined;
  runAfterMs?: number | undefined;
  maxAttempts?: number | undefined;
  timeoutMs?: number | undefined;
  idempotencyKey?: string | undefined;
  /**
   * Registry parameters to run with: the active version of the named set is resolved now and
   * put in the payload as `parameters` (the job type's payload must accept it).
   */
  parameters?: ParametersRef | undefined;
}

/** Payloads are stored in the jobs table; a larger one belongs in storage, passed by URL. */
export const MAX_PAYLOAD_BYTES = 256 * 1024;

/**
 * Checks a submission against Kai's registry of job types and queue classes, then enqueues it
 * with its type's model, so the pool can batch it. An unknown type, an unknown class, a payload
 * its type refuses or one over `MAX_PAYLOAD_BYTES` is a clear domain error, never a row; so is
 * a type that cannot run here (`assertJobTypeAvailable`). Named registry `parameters` are
 * resolved to the active version of their set (`registry.defaultSet` unless named) and put in
 * the payload before it is checked; with the registry off they are refused, and for a type
 * tuned by another registry task (`parametersTask`) too, before any read.
 */
export async function submitJob(
  db: Queryable,
  classes: QueueClasses,
  submission: Submission,
  registry: Pick<RegistrySettings, 'enabled' | 'defaultSet'> = DEFAULT_REGISTRY_SETTINGS,
): Promise<EnqueueResult> {
  return await enqueueJob(db, await prepareJob(db, classes, submission, registry));
}

/**
 * The checks and resolving of `submitJob`, without the enqueue: the job spec to enqueue, or the
 * same errors. `db` is read only for named parameters and for types that need pgvector or a
 * ready model.
 */
export async function prepareJob(
  db: Queryable,
  classes: QueueClasses,
  submission: Submission,
  registry: Pick<RegistrySettings, 'enabled' | 'defaultSet'> = DEFAULT_REGISTRY_SETTINGS,
): Promise<JobSpec> {
  const jobType = jobTypeOf(submission.type);
  const queue = submission.queue ?? jobType.queue;
  if (!(queue in classes)) throw new UnknownQueueError(queue, Object.keys(classes));

  const size = Buffer.byteLength(JSON.stringify(submission.payload ?? null));
  if (size > MAX_PAYLOAD_BYTES) {
    throw new ValidationError(
      `The payload is ${size} bytes; at most ${MAX_PAYLOAD_BYTES} are accepted. Upload large ` +
        'inputs and pass their URL instead.',
      [{ path: 'payload', message: `at most ${MAX_PAYLOAD_BYTES} bytes` }],
    );
  }

  if (submission.parameters && !registry.enabled) throw new RegistryDisabledError();
  const task = submission.parameters?.task;
  if (task !== undefined && jobType.parametersTask && task !== jobType.parametersTask) {
    throw new ParametersTaskMismatchError(jobType.type, task, jobType.parametersTask);
  }
  const payload = submission.parameters
    ? {
        ...(submission.payload as object),
        parameters: await resolveParameters(db, submission.parameters, registry.defaultSet),
      }
    : submission.payload;
  const parsed = jobType.payload.safeParse(payload);
  if (!parsed.success) {
    throw new ValidationError(
      `The payload does not fit job type ${jobType.type}.`,
      parsed.error.issues.map((issue) => ({
        path: ['payload', ...issue.path].join('.'),
        message: issue.message,
      })),
    );
  }

  await assertJobTypeAvailable(db, jobType);

  return {
    type: jobType.type,
    payload: parsed.data,
    ownerId: submission.ownerId,
    queue,
    model: jobType.model,
    priority: submission.priority,
    runAfterMs: submission.runAfterMs,
    maxAttempts: submission.maxAttempts,
    timeoutMs: submission.timeoutMs,
    idempotencyKey: submission.idempotencyKey,
  };
}
