// fast-check sends random JSON bodies and path segments to the registry and study routes
// through the app itself: whatever arrives, the answer is a problem or a success, never a 500.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from './helpers/api-app.ts';
import { bearer } from './helpers/auth-tokens.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

let testDb: TestDatabase;
let api: TestApi;
let auth: Record<string, string>;
let studyId: string;

beforeAll(async () => {
  testDb = await createTestDatabase();
  api = await createTestApi(testDb.db);
  auth = await bearer(randomUUID());
  const res = await api.app.request('/v1/studies', {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'fuzz', task: 'texture.embed', material: 'oak' }),
  });
  studyId = ((await res.json()) as { id: string }).id;
  await api.app.request(`/v1/studies/${studyId}/ask`, { method: 'POST', headers: auth });
});

afterAll(async () => {
  await api.cleanup();
  await testDb.drop();
});

const RUNS = 150;

async function send(path: string, body: unknown): Promise<number> {
  const res = await api.app.request(path, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status >= 400) {
    expect(res.headers.get('content-type')).toContain('application/problem+json');
  }
  return res.status;
}

const bodies = fc.oneof(
  fc.jsonValue(),
  fc.record(
    {
      name: fc.string(),
      space: fc.dictionary(fc.string(), fc.jsonValue()),
      sampler: fc.jsonValue(),
      pruner: fc.jsonValue(),
      direction: fc.string(),
      task: fc.string(),
      material: fc.string(),
      warmStart: fc.jsonValue(),
      values: fc.dictionary(fc.string(), fc.jsonValue()),
      state: fc.constantFrom('complete', 'pruned', 'failed', 'done'),
      value: fc.oneof(fc.double(), fc.string(), fc.constant(null)),
      step: fc.oneof(fc.integer(), fc.double(), fc.string()),
      params: fc.dictionary(fc.string(), fc.jsonValue()),
      version: fc.oneof(fc.integer(), fc.string()),
    },
    { requiredKeys: [] },
  ),
);

describe('registry and study routes under random input', () => {
  it.each([
    ['/v1/studies', () => '/v1/studies'],
    ['tell', () => `/v1/studies/${studyId}/trials/0/tell`],
    ['report', () => `/v1/studies/${studyId}/trials/0/report`],
    ['enqueue', () => `/v1/studies/${studyId}/trials`],
    ['promote', () => `/v1/studies/${studyId}/promote`],
    ['versions', () => '/v1/registry/materials/oak/sets/texture.embed/fuzz/versions'],
    ['activate', () => '/v1/registry/materials/oak/sets/texture.embed/standard/activate'],
    ['materials', () => '/v1/registry/materials'],
  ])('POST %s answers every body without a 500', async (_, path) => {
    await fc.assert(
      fc.asyncProperty(bodies, async (body) => {
        expect(await send(path(), body)).toBeLessThan(500);
      }),
      { numRuns: RUNS },
    );
  });

  it('answers random path segments without a 500', async () => {
    const segment = fc.string({ minLength: 1, maxLength: 40 }).map(encodeURIComponent);
    await fc.assert(
      fc.asyncProperty(segment, segment, async (a, b) => {
        for (const path of [
          `/v1/registry/materials/${a}`,
          `/v1/registry/materials/${a}/suggestions/${b}`,
          `/v1/registry/materials/${a}/sets/${b}/standard`,
          `/v1/studies/${a}`,
          `/v1/studies/${studyId}/trials/${a}/heartbeat`,
        ]) {
          const res = await api.app.request(path, {
            method: path.endsWith('heartbeat') ? 'POST' : 'GET',
            headers: auth,
          });
          expect(res.status).toBeLessThan(500);
        }
      }),
      { numRuns: RUNS },
    );
  });
});
