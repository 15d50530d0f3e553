import { z } from '@hono/zod-openapi';
import type { Job, JobStatus } from '../../queue/job.ts';
import { parametersRefSchema } from '../../registry/resolve-parameters.ts';

/** Every status a job can have, and those it never leaves. */
export const JOB_STATUSES = [
  'queued',
  'running',
  'completed',
  'failed',
  'cancelled',
  'dead',
] as const satisfies readonly JobStatus[];
export const FINAL_STATUSES: ReadonlySet<JobStatus> = new Set(['completed', 'cancelled', 'dead']);

const dateTime = z.string().openapi({ format: 'date-time' });

/** A job as the API shows it; lease and worker details stay inside Kai. */
export const JobSchema = z
  .object({
    id: z.uuid(),
    type: z.string().openapi({ example: 'noop' }),
    queue: z.string().openapi({ example: 'maintenance' }),
    model: z.string().nullable(),
    status: z.enum(JOB_STATUSES),
    payload: z.unknown(),
    result: z.unknown(),
    error: z.unknown(),
    priority: z.number().int(),
    attempts: z.number().int(),
    maxAttempts: z.number().int(),
    timeoutMs: z.number().int().nullable(),
    progress: z.number().int().min(0).max(100),
    progressMessage: z.string().nullable(),
    runAt: dateTime,
    createdAt: dateTime,
    updatedAt: dateTime,
    startedAt: dateTime.nullable(),
    finishedAt: dateTime.nullable(),
    cancelRequestedAt: dateTime.nullable(),
  })
  .openapi('Job');

/** The API's JSON of a job. */
export function jobJson(job: Job): z.infer<typeof JobSchema> {
  const iso = (d: Date | null) => (d === null ? null : d.toISOString());
  return {
    id: job.id,
    type: job.type,
    queue: job.queue,
    model: job.model,
    status: job.status,
    payload: job.payload,
    result: job.result,
    error: job.error,
    priority: job.priority,
    attempts: job.attempts,
    maxAttempts: job.maxAttempts,
    timeoutMs: job.timeoutMs,
    progress: job.progress,
    progressMessage: job.progressMessage,
    runAt: job.runAt.toISOString(),
    createdAt: job.createdAt.toISOString(),
    updatedAt: job.updatedAt.toISOString(),
    startedAt: iso(job.startedAt),
    finishedAt: iso(job.finishedAt),
    cancelRequestedAt: iso(job.cancelRequestedAt),
  };
}

/** Submission options shared by the JSON and the multipart form of `POST /v1/jobs`. */
const submissionFields = {
  type: z.string().min(1).max(100).openapi({ example: 'noop' }),
  queue: z.string().min(1).max(63).optional().openapi({ description: 'Another queue class.' }),
  priority: z.number().int().min(-100).max(100).optional(),
  runAfterMs: z
    .number()
    .int()
    .min(0)
    .max(30 * 86_400_000)
    .optional(),
  maxAttempts: z.number().int().min(1).max(100).optional(),
  timeoutMs: z.number().int().min(1).max(86_400_000).optional(),
  parameters: parametersRefSchema.optional().openapi({
    description:
      'A registry parameter set, resolved to its active version at submission and put in the ' +
      'payload as `parameters`; the set defaults to DEFAULT_PARAMETER_SET.',
  }),
};

/** `input` in a JSON submission: a URL the worker fetches, or the bytes in base64. */
export const JsonInputSchema = z
  .union([
    z.strictObject({ url: z.url({ protocol: /^https?$/ }).max(2048) }),
    z.strictObject({
      base64: z.string().min(1),
      contentType: z
        .string()
        .regex(
          /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/i,
          'expects a media type such as image/png',
        )
        .max(200),
    }),
  ])
  .openapi('JobInput', {
    description: 'Stored by Kai (base64) or fetched by the worker (url); lands in payload.input.',
  });

export const SubmitJobJsonSchema = z
  .strictObject({
    ...submissionFields,
    payload: z
      .record(z.string(), z.unknown())
      .optional()
      .openapi({ example: { sleepMs: 10 } }),
    input: JsonInputSchema.optional(),
  })
  .openapi('SubmitJob');

/** Multipart: the same fields as text, `payload` as JSON text, the upload in `file`. */
export const SubmitJobFormSchema = z
  .object({
    type: submissionFields.type,
    payload: z.string().optional().openapi({ description: 'The payload as JSON text.' }),
    queue: submissionFields.queue,
    priority: z.coerce.number().int().min(-100).max(100).optional(),
    maxAttempts: z.coerce.number().int().min(1).max(100).optional(),
    file: z
      .instanceof(File, { message: 'expects a file part' })
      .openapi({ type: 'string', format: 'binary' }),
  })
  .openapi('SubmitJobUpload');

export const ListJobsQuery = z.object({
  status: z
    .string()
    .regex(
      new RegExp(`^(${JOB_STATUSES.join('|')})(,(${JOB_STATUSES.join('|')}))*$`),
      `expects statuses, comma-separated: ${JOB_STATUSES.join(', ')}`,
    )
    .optional()
    .openapi({ example: 'queued,running' }),
  type: submissionFields.type.optional(),
  createdAfter: z.iso.datetime({ offset: true }).optional(),
  createdBefore: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional().openapi({ description: 'nextCursor of the page before.' }),
});

export const JobPageSchema = z
  .object({ data: z.array(JobSchema), nextCursor: z.string().nullable() })
  .openapi('JobPage');
