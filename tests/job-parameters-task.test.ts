// Which registry task a job type takes parameters of: POST /v1/jobs refuses a set of another
// task with 422 parameters_task_mismatch before anything is enqueued, a type the registry does
// not tune keeps refusing parameters as a payload it does not fit, and a payload carrying a
// resolved set of the wrong task or with values out of its space is refused too.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../core/config/defaults.ts';
import { syncQueueClasses } from '../core/queue/queue-classes.ts';
import { resolveParameters } from '../core/registry/resolve-parameters.ts';
import { createTestApi, jsonInit, type TestApi } from './helpers/api-app.ts';
import { bearer } from './helpers/auth-tokens.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

let testDb: TestDatabase;
let api: TestApi;
let asAlice: Record<string, string>;

// A 1x1 PNG: the image types check their inline image at submission.
const PNG =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJ' +
  'RU5ErkJggg==';

beforeAll(async () => {
  testDb = await createTestDatabase();
  api = await createTestApi(testDb.db);
  await syncQueueClasses(testDb.db, DEFAULTS.KAI_QUEUES);
  asAlice = await bearer(randomUUID());
});

afterAll(async () => {
  await api?.cleanup();
  await testDb?.drop();
});

async function submit(body: unknown) {
  const response = await api.app.request('/v1/jobs', jsonInit('POST', body, asAlice));
  return {
    status: response.status,
    type: response.headers.get('content-type'),
    body: (await response.json()) as Record<string, unknown>,
  };
}

async function jobCount(): Promise<number> {
  const [row] = await testDb.db.query<{ n: number }>('select count(*)::int as n from jobs');
  return row?.n ?? -1;
}

describe('parameters of the job type’s own task', () => {
  it.each([
    ['spec.extract', { text: 'Porcelain tile' }, 'material.classify'],
    ['material.classify', { imageBase64: PNG }, 'spec.extract'],
    ['texture.embed', { imageBase64: PNG }, 'material.classify'],
  ])('%s (payload %j) refuses parameters of task %s', async (type, payload, task) => {
    const before = await jobCount();
    const answer = await submit({ type, payload, parameters: { material: 'oak', task } });

    expect(answer.status).toBe(422);
    expect(answer.type).toContain('application/problem+json');
    expect(answer.body).toMatchObject({
      code: 'parameters_task_mismatch',
      jobType: type,
      task,
      expectedTask: type,
    });
    expect(String(answer.body.detail)).toContain(`name task "${type}" instead`);
    expect(await jobCount()).toBe(before);
  });

  it('refuses before resolving: an unknown material of a foreign task too', async () => {
    const answer = await submit({
      type: 'spec.extract',
      payload: { text: 'Porcelain tile' },
      parameters: { material: 'unobtainium', task: 'texture.embed' },
    });
    expect(answer.status).toBe(422);
    expect(answer.body.code).toBe('parameters_task_mismatch');
  });

  it('accepts its own task and puts the resolved set in the payload', async () => {
    const answer = await submit({
      type: 'spec.extract',
      payload: { text: 'Porcelain tile' },
      parameters: { material: 'porcelain', task: 'spec.extract' },
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(202);
    expect(answer.body.payload).toMatchObject({
      parameters: { material: 'porcelain', task: 'spec.extract', set: 'standard', version: 1 },
    });
  });

  it('refuses parameters for a type the registry does not tune, as a payload misfit', async () => {
    const before = await jobCount();
    const answer = await submit({
      type: 'ocr.extract',
      payload: { imageBase64: PNG },
      parameters: { material: 'oak', task: 'spec.extract' },
    });
    expect(answer.status).toBe(422);
    expect(answer.body.code).toBe('validation_failed');
    expect(await jobCount()).toBe(before);
  });

  it('refuses a payload carrying a set of another task or with foreign values', async () => {
    const classify = await resolveParameters(testDb.db, {
      material: 'oak',
      task: 'material.classify',
    });
    const wrongTask = await submit({
      type: 'spec.extract',
      payload: { text: 'Porcelain tile', parameters: classify },
    });
    expect(wrongTask.status).toBe(422);
    expect(wrongTask.body.code).toBe('validation_failed');
    expect(JSON.stringify(wrongTask.body.errors)).toContain('payload.parameters.task');

    const outOfSpace = await submit({
      type: 'material.classify',
      payload: { imageBase64: PNG, parameters: { ...classify, values: { k: 'many' } } },
    });
    expect(outOfSpace.status).toBe(422);
    expect(JSON.stringify(outOfSpace.body.errors)).toContain('payload.parameters.values');
  });
});
