import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../core/config/defaults.ts';
import { ValidationError } from '../core/errors.ts';
import { UnknownJobTypeError } from '../core/jobs/job-types.ts';
import { MAX_PAYLOAD_BYTES, submitJob } from '../core/jobs/submit-job.ts';
import { UnknownQueueError } from '../core/queue/queue-errors.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

const classes = structuredClone(DEFAULTS.KAI_QUEUES);
let testDb: TestDatabase;

beforeAll(async () => {
  testDb = await createTestDatabase();
});

afterAll(async () => {
  await testDb.drop();
});

const countJobs = async () =>
  (await testDb.db.query<{ n: number }>('select count(*)::int as n from public.jobs'))[0]?.n;

describe('submitJob', () => {
  it("enqueues a known type in its type's class, with its model", async () => {
    const { job } = await submitJob(testDb.db, classes, {
      type: 'synthetic.mlp',
      payload: { input: Array.from({ length: 256 }, () => 0.5) },
      ownerId: randomUUID(),
    });

    expect(job).toMatchObject({ type: 'synthetic.mlp', queue: 'batch', model: 'synthetic-mlp' });
  });

  it('honours a queue class the submitter picks', async () => {
    const { job } = await submitJob(testDb.db, classes, {
      type: 'noop',
      payload: {},
      ownerId: null,
      queue: 'interactive',
    });

    expect(job.queue).toBe('interactive');
  });

  it('refuses an unknown job type with unknown_job_type and stores nothing', async () => {
    const before = await countJobs();

    const error = await submitJob(testDb.db, classes, {
      type: 'ocr.telepathy',
      payload: {},
      ownerId: null,
    }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(UnknownJobTypeError);
    expect(error).toMatchObject({ code: 'unknown_job_type', status: 422 });
    expect(await countJobs()).toBe(before);
  });

  it('refuses an unknown queue class, naming the known ones', async () => {
    const error = await submitJob(testDb.db, classes, {
      type: 'noop',
      payload: {},
      ownerId: null,
      queue: 'vip',
    }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(UnknownQueueError);
    expect((error as Error).message).toContain('interactive, batch, maintenance');
  });

  it('refuses a payload its type does not accept, listing the failing fields', async () => {
    const error = await submitJob(testDb.db, classes, {
      type: 'synthetic.mlp',
      payload: { input: [1, 2, 3] },
      ownerId: null,
    }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({
      code: 'validation_failed',
      extensions: { errors: [{ path: 'payload.input' }] },
    });
  });

  it('refuses an oversized payload before parsing it', async () => {
    const error = await submitJob(testDb.db, classes, {
      type: 'noop',
      payload: { blob: 'x'.repeat(MAX_PAYLOAD_BYTES) },
      ownerId: null,
    }).catch((e: unknown) => e);

    expect(error).toMatchObject({ code: 'validation_failed' });
    expect((error as Error).message).toContain('bytes');
  });
});
