import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { callerOf } from '../../auth/authenticate.ts';
import type { Auth } from '../../auth/caller.ts';
import { asCaller, callerQueryable } from '../../auth/user-scope.ts';
import { KaiError, NotFoundError, ValidationError } from '../../errors.ts';
import { JOB_TYPES, type JobType, jobTypeOf } from '../../jobs/job-types.ts';
import { prepareJob } from '../../jobs/submit-job.ts';
import { parseIp } from '../../net/ip-address.ts';
import { createOutboundGuard, UnsafeUrlError } from '../../net/outbound-guard.ts';
import { cancelJob } from '../../queue/cancel-job.ts';
import type { JobStatus } from '../../queue/job.ts';
import type { ParametersRef } from '../../registry/resolve-parameters.ts';
import { readImageHeader } from '../../spec/image-header.ts';
import { sizeProblem } from '../../spec/image-input.ts';
import type { JobInput } from '../../storage/job-input.ts';
import { decodeBase64Input, InputTooLargeError, storeJobInput } from '../../storage/store-input.ts';
import type { ApiDeps, AppEnv } from '../app-env.ts';
import { AUTH_PROBLEMS, BEARER_SECURITY, createRouter, IdParam, problem } from '../openapi.ts';
import { jobEventsRoute } from './jobs-events-route.ts';
import { findJob, listJobs } from './jobs-queries.ts';
import {
  FINAL_STATUSES,
  JobPageSchema,
  JobSchema,
  jobJson,
  ListJobsQuery,
  SubmitJobFormSchema,
  SubmitJobJsonSchema,
} from './jobs-schemas.ts';

/** A job that has finished cannot be cancelled any more (409 `job_finished`). */
export class JobFinishedError extends KaiError {
  constructor(id: string, status: JobStatus) {
    super(
      {
        code: 'job_finished',
        status: 409,
        title: 'Job finished',
        detail: `Job ${id} is ${status}; only waiting or running jobs can be cancelled.`,
      },
      { extensions: { jobStatus: status } },
    );
  }
}

const jobResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: JobSchema } },
});

const submit = createRoute({
  method: 'post',
  path: '/v1/jobs',
  tags: ['jobs'],
  summary: 'Submit a job: JSON (input by URL or base64) or multipart with the input in `file`',
  description:
    'A job type that takes an input (`noop`: any bytes; `ocr.extract`, `spec.extract`, ' +
    '`texture.embed`, `material.classify` and `pattern.match` image-to-text: a PNG, JPEG or ' +
    'WebP image) gets it as `payload.input`: an upload or base64 body stored by Kai ' +
    '(`{storage, key, contentType, bytes, sha256}`), or `{url}`, fetched by the pool through ' +
    'its SSRF guard within UPLOAD_MAX_BYTES. Image types take it instead of ' +
    '`payload.imageBase64`, never both. Types that take no input refuse one with 422 before ' +
    'anything is stored, and so do image types an upload whose bytes are no image they read. ' +
    'An input the pool cannot read ends its job `dead` (or retried, for a network or storage ' +
    'hiccup) with a stable code: `input_url_refused`, `input_too_large`, `input_http_error`, ' +
    '`input_timeout`, `input_unreachable`, `input_missing`, `input_checksum_mismatch`, ' +
    '`input_forbidden`, `input_storage_mismatch`, `input_storage_error`, `input_unavailable`.',
  security: BEARER_SECURITY,
  request: {
    body: {
      content: {
        'application/json': { schema: SubmitJobJsonSchema },
        'multipart/form-data': { schema: SubmitJobFormSchema },
      },
    },
  },
  responses: {
    202: jobResponse('Accepted: the job is queued'),
    ...AUTH_PROBLEMS,
    413: problem('The input is larger than UPLOAD_MAX_BYTES.'),
    415: problem('Neither JSON nor multipart/form-data.'),
    422: problem(
      'The body, the job type, the queue or the payload is not valid, or the type takes no ' +
        'such input.',
    ),
    503: problem('Storage for uploads is unavailable.'),
  },
});

const getOne = createRoute({
  method: 'get',
  path: '/v1/jobs/{id}',
  tags: ['jobs'],
  summary: 'One of your jobs',
  security: BEARER_SECURITY,
  request: { params: IdParam },
  responses: {
    200: jobResponse('The job'),
    ...AUTH_PROBLEMS,
    404: problem('No such job among yours.'),
  },
});

const list = createRoute({
  method: 'get',
  path: '/v1/jobs',
  tags: ['jobs'],
  summary: 'Your jobs, newest first, filtered, in pages (follow nextCursor)',
  security: BEARER_SECURITY,
  request: { query: ListJobsQuery },
  responses: {
    200: {
      description: 'A page of jobs',
      content: { 'application/json': { schema: JobPageSchema } },
    },
    ...AUTH_PROBLEMS,
    422: problem('A filter or the cursor is not valid.'),
  },
});

const cancel = createRoute({
  method: 'post',
  path: '/v1/jobs/{id}/cancel',
  tags: ['jobs'],
  summary: 'Cancel a job: a waiting one at once, a running one as soon as its handler stops',
  security: BEARER_SECURITY,
  request: { params: IdParam },
  responses: {
    200: jobResponse('The job after the request; cancelRequestedAt is set for a running one'),
    ...AUTH_PROBLEMS,
    404: problem('No such job among yours.'),
    409: problem('The job has already completed or died.'),
  },
});

/**
 * Limitation: RLS lets a user insert their own jobs, so on Supabase a client could also insert
 * one through PostgREST and skip the job type's payload check here; the row still belongs to
 * them, starts queued with no attempts, and its handler parses the payload again.
 *
 * The job routes: submit (`POST /v1/jobs`, 202), read, list and cancel one's own jobs, and
 * follow one as server-sent events. Every query runs as the caller (`asCaller`), so RLS
 * decides what each user sees and changes; scopes `jobs:read` and `jobs:write`.
 */
export function jobsRoutes(deps: ApiDeps) {
  const router = createRouter();

  router.openapi(submit, async (c) => {
    const auth = callerOf(c, { scope: 'jobs:write' });
    const submission = await submissionOf(c, deps, auth);

    try {
      // The checks read (as the caller) only what the submission needs; the enqueue may share
      // its commit with other submissions, each row inserted as its own caller.
      const spec = await prepareJob(
        callerQueryable(deps.db, auth),
        deps.queueClasses,
        { ...submission, ownerId: auth.subject },
        deps.registry,
      );
      const { job } = await deps.jobSubmitter.enqueue(auth, spec);
      c.get('logger').info({ jobId: job.id, type: job.type }, 'job submitted');
      c.header('location', `/v1/jobs/${job.id}`);
      return c.json(jobJson(job), 202);
    } catch (error) {
      // Nothing accepted is kept half: an input stored for a refused job goes again.
      const input = submission.payload.input as JobInput | undefined;
      if (submission.stored && input && 'key' in input) {
        await deps.storage?.delete(input.key).catch((cause: unknown) => {
          c.get('logger').warn({ err: cause }, 'an orphaned upload could not be deleted');
        });
      }
      throw error;
    }
  });

  router.openapi(getOne, async (c) => {
    const auth = callerOf(c, { scope: 'jobs:read' });
    const { id } = c.req.valid('param');
    const job = await deps.jobReader.find(auth, id);
    if (!job) throw new NotFoundError(`You have no job ${id}.`);
    return c.json(jobJson(job), 200);
  });

  router.openapi(list, async (c) => {
    const auth = callerOf(c, { scope: 'jobs:read' });
    const query = c.req.valid('query');
    const page = await asCaller(deps.db, auth, (tx) =>
      listJobs(tx, {
        statuses: query.status ? ([...new Set(query.status.split(','))] as JobStatus[]) : undefined,
        type: query.type,
        createdAfter: query.createdAfter ? new Date(query.createdAfter) : undefined,
        createdBefore: query.createdBefore ? new Date(query.createdBefore) : undefined,
        limit: query.limit,
        cursor: query.cursor,
      }),
    );
    return c.json({ data: page.jobs.map(jobJson), nextCursor: page.nextCursor }, 200);
  });

  router.openapi(cancel, async (c) => {
    const auth = callerOf(c, { scope: 'jobs:write' });
    const { id } = c.req.valid('param');
    const job = await asCaller(deps.db, auth, async (tx) => {
      const status = await cancelJob(tx, id);
      return status === undefined ? undefined : await findJob(tx, id);
    });
    if (!job) throw new NotFoundError(`You have no job ${id}.`);
    if (FINAL_STATUSES.has(job.status) && job.status !== 'cancelled') {
      throw new JobFinishedError(id, job.status);
    }
    c.get('logger').info({ jobId: id, status: job.status }, 'job cancel requested');
    return c.json(jobJson(job), 200);
  });

  jobEventsRoute(router, deps);
  return router;
}

/** A submission as `submitJob` takes it, with the input (if any) stored and in the payload. */
interface ParsedSubmission {
  type: string;
  payload: Record<string, unknown>;
  queue?: string | undefined;
  priority?: number | undefined;
  runAfterMs?: number | undefined;
  maxAttempts?: number | undefined;
  timeoutMs?: number | undefined;
  parameters?: ParametersRef | undefined;
  /** True when Kai stored the input, so a refused job must delete it again. */
  stored: boolean;
}

const JSON_PAYLOAD = z.record(z.string(), z.unknown());

async function submissionOf(
  c: Context<AppEnv>,
  deps: ApiDeps,
  auth: Auth,
): Promise<ParsedSubmission> {
  const contentType = c.req.header('content-type') ?? '';
  const maxBytes = deps.maxUploadBytes;

  if (/^multipart\/form-data/i.test(contentType)) {
    const form = (
      c.req as unknown as { valid(t: 'form'): z.infer<typeof SubmitJobFormSchema> }
    ).valid('form');
    const payload = parsePayloadText(form.payload);
    const jobType = inputTakerOf(form.type, 'body.file');
    rejectTwoInputs(payload, 'body.payload.input');
    if (form.file.size > maxBytes) {
      throw new InputTooLargeError(form.file.size, maxBytes);
    }
    const bytes = new Uint8Array(await form.file.arrayBuffer());
    refuseNonImage(jobType, bytes, 'body.file');
    const input = await storeJobInput(deps.storage, {
      ownerId: auth.subject,
      body: bytes,
      contentType: form.file.type || 'application/octet-stream',
      maxBytes,
    });
    return {
      type: form.type,
      payload: { ...payload, input },
      queue: form.queue,
      priority: form.priority,
      maxAttempts: form.maxAttempts,
      stored: true,
    };
  }

  if (!/^application\/([a-z-.]+\+)?json/i.test(contentType)) {
    throw new ValidationError('The request needs a body: JSON or multipart/form-data.', [
      { path: 'body', message: 'is required' },
    ]);
  }
  const body = (
    c.req as unknown as { valid(t: 'json'): z.infer<typeof SubmitJobJsonSchema> }
  ).valid('json');
  const payload: Record<string, unknown> = { ...body.payload };
  let stored = false;
  if (body.input) {
    const jobType = inputTakerOf(body.type, 'body.input');
    rejectTwoInputs(payload, 'body.input');
    if ('url' in body.input) {
      refuseUnsafeInputUrl(body.input.url);
      payload.input = { url: body.input.url };
    } else {
      const bytes = decodeBase64Input(body.input.base64, 'body.input.base64');
      if (bytes.byteLength <= maxBytes) refuseNonImage(jobType, bytes, 'body.input.base64');
      payload.input = await storeJobInput(deps.storage, {
        ownerId: auth.subject,
        body: bytes,
        contentType: body.input.contentType,
        maxBytes,
      });
      stored = true;
    }
  } else if (JOB_TYPES.get(body.type)?.takesInput) {
    // Only Kai writes the input of a type that takes one: a stored reference names a key, and
    // a URL must pass the checks above.
    rejectTwoInputs(payload, 'body.payload.input');
  }
  return {
    type: body.type,
    payload,
    queue: body.queue,
    priority: body.priority,
    runAfterMs: body.runAfterMs,
    maxAttempts: body.maxAttempts,
    timeoutMs: body.timeoutMs,
    parameters: body.parameters,
    stored,
  };
}

const outboundGuard = createOutboundGuard();

/**
 * Refuses at once an input URL that names this machine, a private network or a metadata
 * service by address or as localhost. Limitation: other host names are resolved and checked
 * only when the worker fetches the input, through the guarded client, since DNS answers may
 * change in between and a submission should not wait on DNS.
 */
function refuseUnsafeInputUrl(url: string): void {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  if (/(^|\.)localhost\.?$/i.test(host)) {
    throw new UnsafeUrlError(`${host} is this machine; Kai only fetches public internet URLs.`);
  }
  if (parseIp(host)) outboundGuard.checkAddress(host);
}

function parsePayloadText(text: string | undefined): Record<string, unknown> {
  if (text === undefined || text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  const parsed = JSON_PAYLOAD.safeParse(value);
  if (!parsed.success) {
    throw new ValidationError('The payload field is not a JSON object.', [
      { path: 'body.payload', message: 'expects a JSON object' },
    ]);
  }
  return parsed.data;
}

function rejectTwoInputs(payload: Record<string, unknown>, path: string): void {
  if ('input' in payload) {
    throw new ValidationError('The input belongs beside the payload, not in it.', [
      { path, message: 'give the input once, beside the payload (input or file)' },
    ]);
  }
}

/**
 * The job type of a submission that comes with an input, once it is known to take one; an
 * unknown type or one that takes no input is refused before anything is stored.
 */
function inputTakerOf(type: string, path: string): JobType {
  const jobType = jobTypeOf(type);
  if (!jobType.takesInput) {
    const takers = [...JOB_TYPES.values()].filter((t) => t.takesInput).map((t) => t.type);
    throw new ValidationError(`Job type ${jobType.type} takes no input.`, [
      { path, message: `takes no input; these types do: ${takers.join(', ')}` },
    ]);
  }
  return jobType;
}

/** Refuses, before it is stored, an upload that an image type could not read. */
function refuseNonImage(jobType: JobType, bytes: Uint8Array, path: string): void {
  if (jobType.takesInput !== 'image') return;
  const header = readImageHeader(bytes);
  const problem = header
    ? sizeProblem(header)
    : bytes.byteLength === 0
      ? undefined // storeJobInput names an empty input itself
      : 'the bytes are not a PNG, JPEG or WebP image';
  if (problem !== undefined) {
    throw new ValidationError(`Job type ${jobType.type} cannot read this input: ${problem}.`, [
      { path, message: problem },
    ]);
  }
}
