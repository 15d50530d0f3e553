// The API's contract at the edge: one OpenAPI 3.1 document that lists every route the app
// serves, interactive docs, and problem+json for validation, unknown paths and wrong methods.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, jsonInit, type TestApi } from './helpers/api-app.ts';
import { bearer } from './helpers/auth-tokens.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

let testDb: TestDatabase;
let api: TestApi;

beforeAll(async () => {
  testDb = await createTestDatabase();
  api = await createTestApi(testDb.db);
});

afterAll(async () => {
  await api?.cleanup();
  await testDb?.drop();
});

/** The paths of the document itself: they describe the API, they are not part of it. */
const DOCUMENTATION_PATHS = new Set(['/openapi.json', '/docs']);

interface OpenApiDocument {
  openapi: string;
  info: { title: string };
  paths: Record<string, Record<string, { security?: unknown[]; responses: object }>>;
  components: { securitySchemes: Record<string, unknown> };
}

describe('/openapi.json', () => {
  it('is an OpenAPI 3.1 document that lists every route the app serves', async () => {
    const response = await api.app.request('/openapi.json');
    const doc = (await response.json()) as OpenApiDocument;

    expect(response.status).toBe(200);
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });

    const served = api.app.routes
      .filter((r) => r.method !== 'ALL' && !DOCUMENTATION_PATHS.has(r.path))
      .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`);
    const documented = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method} ${path}`),
    );
    expect(served.length).toBeGreaterThanOrEqual(10);
    expect(new Set(documented)).toEqual(new Set(served));
  });

  it('documents the job routes with their security and problem responses', async () => {
    const doc = (await (await api.app.request('/openapi.json')).json()) as OpenApiDocument;

    for (const [path, method] of [
      ['/v1/jobs', 'post'],
      ['/v1/jobs', 'get'],
      ['/v1/jobs/{id}', 'get'],
      ['/v1/jobs/{id}/cancel', 'post'],
      ['/v1/jobs/{id}/events', 'get'],
      ['/v1/api-keys', 'post'],
      ['/v1/api-keys/{id}', 'delete'],
    ] as const) {
      const operation = doc.paths[path]?.[method];
      expect(operation, `${method} ${path}`).toBeDefined();
      expect(operation?.security).toEqual([{ bearer: [] }]);
      expect(Object.keys(operation?.responses ?? {})).toContain('401');
    }
    const submit = doc.paths['/v1/jobs']?.post as unknown as {
      requestBody: { content: Record<string, unknown> };
    };
    expect(Object.keys(submit.requestBody.content).sort()).toEqual([
      'application/json',
      'multipart/form-data',
    ]);
  });
});

describe('/docs', () => {
  it('serves the Scalar reference pointing at /openapi.json', async () => {
    const response = await api.app.request('/docs');
    const html = await response.text();

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(html).toContain('/openapi.json');
    expect(html.toLowerCase()).toContain('scalar');
  });
});

describe('problems at the edge', () => {
  it('answers a validation failure with 422 validation_failed listing each field', async () => {
    const response = await api.app.request(
      '/v1/api-keys',
      jsonInit('POST', { scopes: 'jobs:read', surplus: 1 }, await bearer(crypto.randomUUID())),
    );
    const body = (await response.json()) as {
      code: string;
      status: number;
      requestId: string;
      errors: { path: string; message: string }[];
    };

    expect(response.status).toBe(422);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(body).toMatchObject({ code: 'validation_failed', status: 422 });
    expect(body.requestId).toBe(response.headers.get('x-request-id'));
    const paths = body.errors.map((e) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['body.name', 'body.scopes']));
    expect(body.errors.every((e) => e.message.length > 0)).toBe(true);
  });

  it('answers an unknown path with 404 not_found', async () => {
    const response = await api.app.request('/v1/nowhere/at/all');

    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ code: 'not_found' });
  });

  it('answers a known path asked with another method with 405 and Allow', async () => {
    const jobs = await api.app.request('/v1/jobs', { method: 'PUT' });
    const job = await api.app.request(`/v1/jobs/${crypto.randomUUID()}`, { method: 'DELETE' });
    const health = await api.app.request('/healthz', { method: 'POST' });

    expect(jobs.status).toBe(405);
    expect(jobs.headers.get('allow')).toBe('GET, HEAD, POST');
    expect(jobs.headers.get('content-type')).toBe('application/problem+json');
    expect(await jobs.json()).toMatchObject({
      code: 'method_not_allowed',
      allow: ['GET', 'HEAD', 'POST'],
    });
    expect(job.status).toBe(405);
    expect(job.headers.get('allow')).toBe('GET, HEAD');
    expect(health.status).toBe(405);
  });

  it('answers bodies the parsers or the database refuse with 4xx problems, never a 500', async () => {
    const auth = await bearer(crypto.randomUUID());
    const forgedCursor = Buffer.from(JSON.stringify(['2026', crypto.randomUUID()])).toString(
      'base64url',
    );

    const multipart = await api.app.request('/v1/jobs', {
      method: 'POST',
      headers: { ...auth, 'content-type': 'multipart/form-data; boundary=xyz' },
      body: 'garbage\r\n--xyz\r\nnot a part',
    });
    const nul = await api.app.request(
      '/v1/api-keys',
      jsonInit('POST', { name: 'a\u0000b', scopes: ['*'] }, auth),
    );
    const cursor = await api.app.request(`/v1/jobs?cursor=${forgedCursor}`, { headers: auth });

    expect(multipart.status).toBe(400);
    expect(await multipart.json()).toMatchObject({ code: 'bad_request' });
    expect(nul.status).toBe(422);
    expect(await nul.json()).toMatchObject({ code: 'invalid_input' });
    expect(cursor.status).toBe(422);
    expect(await cursor.json()).toMatchObject({ errors: [{ path: 'query.cursor' }] });
  });

  it('never logs the bearer token or the query string', async () => {
    const lines: string[] = [];
    const { createApp } = await import('../core/http/app.ts');
    const { pino } = await import('pino');
    const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(line) });
    const app = createApp({
      db: testDb.db,
      logger,
      readiness: () => ({ migrations: true, pool: true }),
    });
    const token = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzZWNyZXQifQ.c2VjcmV0LXNpZ25hdHVyZQ';

    await app.request('/v1/jobs?access_token=qs-secret-123', {
      headers: { authorization: `Bearer ${token}` },
    });
    await app.request('/v1/jobs', { headers: { authorization: `Bearer kai_${'s'.repeat(43)}` } });

    const log = lines.join('\n');
    expect(log).toContain('"path":"/v1/jobs"');
    expect(log).not.toContain(token);
    expect(log).not.toContain('qs-secret-123');
    expect(log).not.toContain('s'.repeat(43));
  });
});
