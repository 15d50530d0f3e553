// `parameters` on POST /v1/jobs: the named registry set resolves, as the caller, to its active
// version when the job is submitted, and lands in the payload the handler gets.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../core/config/defaults.ts';
import { syncQueueClasses } from '../core/queue/queue-classes.ts';
import { DEFAULT_REGISTRY_SETTINGS } from '../core/registry/registry-settings.ts';
import { createTestApi, jsonInit, type TestApi } from './helpers/api-app.ts';
import { bearer } from './helpers/auth-tokens.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

let testDb: TestDatabase;
let api: TestApi;
let asAlice: Record<string, string>;

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

const submit = (body: unknown) => api.app.request('/v1/jobs', jsonInit('POST', body, asAlice));

describe('POST /v1/jobs with registry parameters', () => {
  it('puts the active standard set of the material and task in the payload', async () => {
    const response = await submit({
      type: 'noop',
      payload: {},
      parameters: { material: 'oak', task: 'texture.embed' },
    });
    expect(response.status, await response.clone().text()).toBe(202);
    const job = (await response.json()) as { payload: { parameters?: Record<string, unknown> } };

    const [active] = await testDb.db.query<{ values: Record<string, unknown> }>(
      `select v.values from public.parameter_set_versions v
       join public.parameter_sets s on s.active_version_id = v.id
       join public.material_types m on m.id = s.material_id
       where m.slug = 'oak' and s.task = 'texture.embed' and s.name = $1`,
      [DEFAULT_REGISTRY_SETTINGS.defaultSet],
    );
    expect(active).toBeDefined();
    expect(job.payload.parameters).toMatchObject({
      material: 'oak',
      task: 'texture.embed',
      values: active?.values,
    });
  });

  it('answers a problem, not a job, for a material the registry does not know', async () => {
    const response = await submit({
      type: 'noop',
      payload: {},
      parameters: { material: 'unobtainium', task: 'texture.embed' },
    });
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    const [count] = await testDb.db.query<{ n: number }>('select count(*)::int as n from jobs');
    expect(count?.n).toBe(1);
  });
});
