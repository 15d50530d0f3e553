import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../core/http/app.ts';
import { createLogger } from '../core/logging/logger.ts';
import { DEFAULT_REGISTRY_SETTINGS } from '../core/registry/registry-settings.ts';
import { createTestApi, jsonInit, type TestApi } from './helpers/api-app.ts';
import { bearer, testVerifier } from './helpers/auth-tokens.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field
type Body = any;
/** A response whose JSON body the assertions below read field by field. */
type JsonResponse = Omit<Response, 'json'> & { json(): Promise<Body> };

let testDb: TestDatabase;
let api: TestApi;
const user = randomUUID();
let auth: Record<string, string>;

beforeAll(async () => {
  testDb = await createTestDatabase();
  api = await createTestApi(testDb.db);
  auth = await bearer(user);
});

afterAll(async () => {
  await api.cleanup();
  await testDb.drop();
});

const get = (path: string) => api.app.request(path, { headers: auth }) as Promise<JsonResponse>;
const post = (path: string, body: unknown) =>
  api.app.request(path, jsonInit('POST', body, auth)) as Promise<JsonResponse>;

describe('/v1/registry', () => {
  it('needs credentials', async () => {
    const res = (await api.app.request('/v1/registry/tasks')) as JsonResponse;
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
  });

  it('lists tasks with their spaces and material types a page at a time', async () => {
    const tasks = await (await get('/v1/registry/tasks')).json();
    expect(tasks.tasks.map((t: { name: string }) => t.name)).toContain('texture.embed');

    const first = await (await get('/v1/registry/materials?limit=5')).json();
    const second = await (await get(`/v1/registry/materials?limit=5&after=${first.next}`)).json();
    expect(first.materials).toHaveLength(5);
    expect(second.materials[0].slug > first.next).toBe(true);
  });

  it('registers a material, adds and activates versions, and shows the history', async () => {
    const created = await post('/v1/registry/materials', {
      slug: 'bamboo',
      name: 'Bamboo',
      category: 'wood',
      properties: {
        densityKgM3: 700,
        mohsHardness: 3,
        porosity: 0.5,
        gloss60Gu: 20,
        roughnessRaUm: 4,
        grainScaleMm: 2,
        colorVariation: 0.3,
        thermalConductivityWmK: 0.17,
      },
    });
    expect(created.status).toBe(201);
    expect((await created.json()).createdBy).toBe(user);

    const path = '/v1/registry/materials/bamboo/sets/material.classify/standard';
    const values = { k: 9, temperature: 0.8, minConfidence: 0.5, vote: 'majority' };
    const v1 = await post(`${path}/versions`, { values, score: 0.7 });
    const v2 = await post(`${path}/versions`, { values: { ...values, k: 12 }, activate: false });
    expect(v1.status).toBe(201);
    expect((await v2.json()).active.version).toBe(1);

    const activated = await post(`${path}/activate`, { version: 2 });
    expect((await activated.json()).active.values.k).toBe(12);
    const set = await (await get(path)).json();
    expect(set.versions.map((v: { version: number }) => v.version)).toEqual([2, 1]);
    expect(set.best.version).toBe(1);
    expect(set.changes[0]).toMatchObject({ action: 'activated', version: 2, actor: user });
  });

  it('answers bad values and unknown names with problems, never a 500', async () => {
    const bad = await post('/v1/registry/materials/oak/sets/material.classify/standard/versions', {
      values: { k: 500, temperature: 1, minConfidence: 0.5, vote: 'majority' },
    });
    const unknownMaterial = await get('/v1/registry/materials/unobtainium');
    const unknownTask = await get('/v1/registry/materials/oak/suggestions/telepathy');
    const malformed = await post('/v1/registry/materials', { slug: 'NOT A SLUG' });

    expect(bad.status).toBe(422);
    expect((await bad.json()).errors[0].path).toBe('values.k');
    expect((await unknownMaterial.json()).code).toBe('unknown_material');
    expect((await unknownTask.json()).code).toBe('unknown_task');
    expect(malformed.status).toBe(422);
  });

  it('suggests values with neighbours and similarities, or the defaults and why', async () => {
    const blended = await (
      await get('/v1/registry/materials/oak/suggestions/texture.embed')
    ).json();
    const fallback = await (
      await get('/v1/registry/materials/oak/suggestions/texture.embed?threshold=0.9999')
    ).json();
    const neighbours = await (await get('/v1/registry/materials/oak/neighbours?limit=2')).json();

    expect(blended.source).toBe('neighbours');
    expect(blended.neighbours.length).toBeGreaterThan(0);
    expect(blended.threshold).toBe(0.75);
    expect(fallback).toMatchObject({ source: 'default', fallback: 'material_default_set' });
    expect(fallback.reason).toContain('0.9999');
    // Bamboo, registered above, is a wood too; walnut stays the nearest.
    expect(neighbours.neighbours[0].slug).toBe('walnut');
    expect(neighbours.neighbours).toHaveLength(2);
  });

  it('lets an API key with registry:read read but not write, and no study scope at all', async () => {
    const created = await post('/v1/api-keys', { name: 'reader', scopes: ['registry:read'] });
    expect(created.status).toBe(201);
    const key = { authorization: `Bearer ${(await created.json()).secret}` };

    const read = await api.app.request('/v1/registry/materials/oak', { headers: key });
    const write = await api.app.request(
      '/v1/registry/materials/oak/sets/texture.embed/standard/activate',
      jsonInit('POST', { version: 1 }, key),
    );
    const studies = await api.app.request('/v1/studies', { headers: key });

    expect(read.status).toBe(200);
    expect(write.status).toBe(403);
    expect(((await write.json()) as { code: string }).code).toBe('insufficient_scope');
    expect(studies.status).toBe(403);
  });

  it('answers 503 registry_disabled when PARAM_REGISTRY_ENABLED is false', async () => {
    const app = createApp({
      db: testDb.db,
      logger: createLogger({ level: 'silent' }),
      readiness: () => ({ migrations: true, pool: true }),
      verifyJwt: testVerifier(),
      registry: { ...DEFAULT_REGISTRY_SETTINGS, enabled: false },
    });
    const res = (await app.request('/v1/registry/tasks', { headers: auth })) as JsonResponse;
    expect(res.status).toBe(503);
    expect((await res.json()).code).toBe('registry_disabled');
  });
});
