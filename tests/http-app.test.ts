import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KaiError } from '../core/errors.ts';
import { createApp } from '../core/http/app.ts';
import type { Readiness } from '../core/http/health-routes.ts';
import { createLogger } from '../core/logging/logger.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

const logger = createLogger({ level: 'silent' });
let testDb: TestDatabase;

beforeAll(async () => {
  testDb = await createTestDatabase();
});

afterAll(async () => {
  await testDb.drop();
});

function appWith(readiness: Readiness) {
  return createApp({ db: testDb.db, logger, readiness: () => readiness });
}

describe('health routes', () => {
  it('answers /healthz with 200 ok while the database answers', async () => {
    const response = await appWith({ migrations: false, pool: false }).request('/healthz');

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('answers /readyz with 503 and the failing checks until start-up is done', async () => {
    const response = await appWith({ migrations: true, pool: false }).request('/readyz');

    expect(response.status).toBe(503);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(await response.json()).toMatchObject({
      code: 'not_ready',
      status: 503,
      detail: 'Waiting for: pool.',
      checks: { database: true, migrations: true, pool: false },
    });
  });

  it('answers /readyz with 200 once migrations and the pool are ready', async () => {
    const response = await appWith({ migrations: true, pool: true }).request('/readyz');

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      status: 'ready',
      checks: { database: true, migrations: true, pool: true },
    });
  });
});

describe('errors at the edge', () => {
  it('answers an unknown route with a problem document carrying the request id', async () => {
    const response = await appWith({ migrations: true, pool: true }).request('/v1/nothing-here', {
      method: 'POST',
    });

    const requestId = response.headers.get('x-request-id');
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await response.json()).toEqual({
      type: 'https://kai.dev/problems/not_found',
      title: 'Not found',
      status: 404,
      detail: 'No route POST /v1/nothing-here.',
      code: 'not_found',
      requestId,
    });
  });

  it('maps a domain error to its status and code, with its extensions', async () => {
    const app = appWith({ migrations: true, pool: true });
    app.get('/conflict', () => {
      throw new KaiError(
        { code: 'idempotency_conflict', status: 422, title: 'Conflict', detail: 'Key reused.' },
        { extensions: { key: 'k1' } },
      );
    });

    const response = await app.request('/conflict');

    expect(response.status).toBe(422);
    expect(await response.json()).toMatchObject({
      code: 'idempotency_conflict',
      detail: 'Key reused.',
      key: 'k1',
    });
  });

  it('answers an unexpected error with a bare 500 that leaks nothing', async () => {
    const app = appWith({ migrations: true, pool: true });
    app.get('/boom', () => {
      throw new Error('secret internals: password=hunter2');
    });

    const response = await app.request('/boom');
    const text = await response.text();

    expect(response.status).toBe(500);
    expect(JSON.parse(text)).toMatchObject({ code: 'internal_error', status: 500 });
    expect(text).not.toContain('hunter2');
  });

  it('keeps a request id the caller sent, so logs can be joined across services', async () => {
    const response = await appWith({ migrations: true, pool: true }).request('/healthz', {
      headers: { 'x-request-id': 'caller-chosen-id-1' },
    });

    expect(response.headers.get('x-request-id')).toBe('caller-chosen-id-1');
  });
});

describe('when the database stops answering', () => {
  it('answers /healthz and /readyz with 503', async () => {
    const own = await createTestDatabase();
    const app = createApp({
      db: own.db,
      logger,
      readiness: () => ({ migrations: true, pool: true }),
    });
    await own.drop();

    const health = await app.request('/healthz');
    const ready = await app.request('/readyz');

    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ code: 'database_unavailable' });
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ checks: { database: false } });
  });
});
