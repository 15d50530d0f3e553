import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config/load-config.ts';
import { StartupError } from '../core/errors.ts';
import { createApp } from '../core/http/app.ts';
import { DEFAULT_EDGE_SETTINGS } from '../core/http/middleware/edge-middleware.ts';
import { createLogger } from '../core/logging/logger.ts';
import { bearer, testVerifier } from './helpers/auth-tokens.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

const logger = createLogger({ level: 'silent' });
const APP_ORIGIN = 'https://app.example.com';
let testDb: TestDatabase;

beforeAll(async () => {
  testDb = await createTestDatabase();
});

afterAll(async () => {
  await testDb.drop();
});

function appWithOrigins(corsOrigins: string[], perMinute = 600) {
  return createApp({
    db: testDb.db,
    logger,
    readiness: () => ({ migrations: true, pool: true }),
    verifyJwt: testVerifier(),
    edge: {
      ...DEFAULT_EDGE_SETTINGS,
      corsOrigins,
      rateLimit: { ...DEFAULT_EDGE_SETTINGS.rateLimit, perMinute },
    },
  });
}

const preflight = (origin: string) => ({
  method: 'OPTIONS',
  headers: {
    origin,
    'access-control-request-method': 'POST',
    'access-control-request-headers': 'authorization, content-type, idempotency-key',
  },
});

describe('CORS from CORS_ORIGIN', () => {
  it('answers a preflight from a listed origin without credentials', async () => {
    const app = appWithOrigins([APP_ORIGIN, 'https://admin.example.com']);
    const response = await app.request('/v1/jobs', preflight(APP_ORIGIN));

    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    expect(response.headers.get('access-control-allow-methods')).toContain('POST');
    const allowed = response.headers.get('access-control-allow-headers')?.toLowerCase();
    for (const header of ['authorization', 'content-type', 'idempotency-key']) {
      expect(allowed).toContain(header);
    }
    expect(response.headers.get('access-control-max-age')).toBe('600');
    expect(response.headers.get('access-control-allow-credentials')).toBeNull();
    expect(response.headers.get('vary')).toContain('Origin');
  });

  it('lets pages read the request id, rate limit and replay headers', async () => {
    const app = appWithOrigins([APP_ORIGIN]);
    const response = await app.request('/v1/models', {
      headers: { origin: APP_ORIGIN, ...(await bearer(randomUUID())) },
    });

    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    const exposed = response.headers.get('access-control-expose-headers')?.toLowerCase() ?? '';
    for (const header of [
      'x-request-id',
      'retry-after',
      'ratelimit-limit',
      'ratelimit-remaining',
      'ratelimit-reset',
      'idempotent-replayed',
      'location',
    ]) {
      expect(exposed).toContain(header);
    }
  });

  it('gives an origin that is not listed no Access-Control-Allow-Origin', async () => {
    const app = appWithOrigins([APP_ORIGIN]);
    for (const origin of ['https://evil.example.com', 'https://app.example.com.evil.net']) {
      const response = await app.request('/v1/models', { headers: { origin } });
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
      const refused = await app.request('/v1/jobs', preflight(origin));
      expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    }
  });

  it('sends no CORS headers at all when CORS_ORIGIN is unset', async () => {
    const app = appWithOrigins([]);
    const response = await app.request('/v1/models', { headers: { origin: APP_ORIGIN } });
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('allows every origin with *', async () => {
    const app = appWithOrigins(['*']);
    const response = await app.request('/v1/models', { headers: { origin: 'https://any.test' } });
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('keeps the CORS headers on errors, so pages can read 401 and 429 problems', async () => {
    const app = appWithOrigins([APP_ORIGIN], 1);
    const unauthorized = await app.request('/v1/jobs', {
      headers: { origin: APP_ORIGIN, authorization: 'Bearer not-a-token' },
    });
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);

    const headers = { origin: APP_ORIGIN, ...(await bearer(randomUUID())) };
    await app.request('/v1/models', { headers });
    const limited = await app.request('/v1/models', { headers });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    expect(limited.headers.get('access-control-expose-headers')).toContain('Retry-After');
  });
});

describe('CORS_ORIGIN in the configuration', () => {
  it('reads a comma-separated list, trimming spaces and trailing slashes', () => {
    const config = loadConfig({ CORS_ORIGIN: ' https://a.example.com, http://localhost:5173/ ' });
    expect(config.edge.corsOrigins).toEqual(['https://a.example.com', 'http://localhost:5173']);
    expect(loadConfig({}).edge.corsOrigins).toEqual([]);
  });

  it('stops start-up on something that is not an origin, naming the variable', () => {
    for (const value of ['ftp://files.example.com', 'https://a.example.com/app', 'nope']) {
      expect(() => loadConfig({ CORS_ORIGIN: value })).toThrow(StartupError);
      expect(() => loadConfig({ CORS_ORIGIN: value })).toThrow(/CORS_ORIGIN expects/);
    }
  });
});
