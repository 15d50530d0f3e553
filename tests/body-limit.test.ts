import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config/load-config.ts';
import { createApp } from '../core/http/app.ts';
import { DEFAULT_EDGE_SETTINGS } from '../core/http/middleware/edge-middleware.ts';
import { createLogger } from '../core/logging/logger.ts';
import { type NodeServer, serveNode } from '../core/node/serve-node.ts';
import { bearer, testVerifier } from './helpers/auth-tokens.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

const logger = createLogger({ level: 'silent' });
const LIMIT_BYTES = 4096;
let testDb: TestDatabase;
let app: ReturnType<typeof createApp>;
let server: NodeServer;

beforeAll(async () => {
  testDb = await createTestDatabase();
  app = createApp({
    db: testDb.db,
    logger,
    readiness: () => ({ migrations: true, pool: true }),
    verifyJwt: testVerifier(),
    edge: { ...DEFAULT_EDGE_SETTINGS, bodyLimitBytes: LIMIT_BYTES },
  });
  server = await serveNode(app, { host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await server.close();
  await testDb.drop();
});

/** A job submission whose JSON is `bytes` long (padded with whitespace, which JSON allows). */
function submission(bytes: number): string {
  const json = JSON.stringify({ type: 'noop', payload: {} });
  return json + ' '.repeat(bytes - json.length);
}

async function expectTooLarge(response: Response) {
  expect(response.status).toBe(413);
  expect(response.headers.get('content-type')).toBe('application/problem+json');
  expect(response.headers.get('x-request-id')).toBeTruthy();
  expect(await response.json()).toMatchObject({
    code: 'payload_too_large',
    status: 413,
    limitBytes: LIMIT_BYTES,
  });
}

describe('the body size limit', () => {
  it('takes a body of exactly the limit', async () => {
    const body = submission(LIMIT_BYTES);
    expect(Buffer.byteLength(body)).toBe(LIMIT_BYTES);
    const response = await app.request('/v1/jobs', {
      method: 'POST',
      headers: { ...(await bearer(randomUUID())), 'content-type': 'application/json' },
      body,
    });
    expect(response.status).toBe(202);
  });

  it('refuses a larger body by its Content-Length with 413 problem+json', async () => {
    const body = submission(LIMIT_BYTES + 1);
    await expectTooLarge(
      await app.request('/v1/jobs', {
        method: 'POST',
        headers: {
          ...(await bearer(randomUUID())),
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
        },
        body,
      }),
    );
  });

  it('refuses before authentication, so unauthenticated floods stop there too', async () => {
    await expectTooLarge(
      await app.request('/v1/jobs', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer forged' },
        body: submission(LIMIT_BYTES * 4),
      }),
    );
  });

  it('refuses a streamed (chunked) body as it passes the limit, over a real Node server', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 64) return controller.close();
        sent += 1;
        controller.enqueue(chunk);
      },
    });

    const response = await fetch(`${server.url}/v1/jobs`, {
      method: 'POST',
      headers: { ...(await bearer(randomUUID())), 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    await expectTooLarge(response);
  });

  it('reads API_BODY_LIMIT_BYTES, by default room for a base64 upload of UPLOAD_MAX_BYTES', () => {
    const config = loadConfig({});
    expect(config.edge.bodyLimitBytes).toBe(28 * 1024 * 1024);
    expect(config.edge.bodyLimitBytes).toBeGreaterThan((config.storage.maxUploadBytes * 4) / 3);
    expect(loadConfig({ API_BODY_LIMIT_BYTES: '65536' }).edge.bodyLimitBytes).toBe(65_536);
    expect(() => loadConfig({ API_BODY_LIMIT_BYTES: '12' })).toThrow(/API_BODY_LIMIT_BYTES/);
  });
});
