// The Vercel function api/index.ts served by @vercel/node's own runtime code (its dev server,
// which loads the entrypoint and calls its exports as Vercel's Node runtime does), over this
// file's migrated database. The rewrites of vercel.json keep the original URL, so requests go
// to the paths clients call.
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToRegexp } from 'path-to-regexp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, TEST_JWT_ISSUER, TEST_JWT_SECRET } from './helpers/auth-tokens.ts';
import { type FakeQstash, startFakeQstash } from './helpers/fake-qstash.ts';
import { REPO_ROOT } from './helpers/migrations-dir.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

const DEV_SERVER = join(REPO_ROOT, 'node_modules', '@vercel', 'node', 'dist', 'dev-server.mjs');
const START_TIMEOUT_MS = 30_000;

interface Runtime {
  child: ChildProcess;
  url: string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Starts @vercel/node's runtime on api/index.ts with `env`; resolves once it listens. */
async function startRuntime(env: Record<string, string>): Promise<Runtime> {
  const child = fork(DEV_SERVER, [], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', VERCEL_DEV_ENTRYPOINT: 'api/index.ts', ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdout?.resume();
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));

  const address = await new Promise<{ port: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the Vercel runtime did not start')), 30_000);
    child.once('message', (message) => {
      clearTimeout(timer);
      resolve(message as { port: number });
    });
    child.once('exit', (code) => reject(new Error(`the runtime exited ${code}: ${stderr}`)));
  });
  return { child, url: `http://127.0.0.1:${address.port}`, stderr: () => stderr, exited };
}

async function stopRuntime(runtime: Runtime | undefined): Promise<void> {
  if (!runtime || runtime.child.exitCode !== null) return;
  runtime.child.kill('SIGTERM');
  await runtime.exited;
}

const functionEnv = (databaseUrl: string) => ({
  DATABASE_URL: databaseUrl,
  SUPABASE_URL: 'https://kai-test.supabase.co',
  SUPABASE_JWT_SECRET: randomBytes(32).toString('base64url'),
  LOG_LEVEL: 'silent',
});

// The function serves only a server database (it has no disk for PGlite): on the PGlite leg this
// part is skipped, and the part below checks that the function refuses to start there.
describe.skipIf(!process.env.DATABASE_URL)('api/index.ts on a server database', () => {
  let testDb: TestDatabase;
  let runtime: Runtime | undefined;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    runtime = await startRuntime(functionEnv(testDb.url ?? ''));
  }, START_TIMEOUT_MS);

  afterAll(async () => {
    await stopRuntime(runtime);
    await testDb?.drop();
  });

  it('answers /healthz and /readyz through the function', async () => {
    const health = await fetch(`${runtime?.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    expect(health.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);

    const ready = await fetch(`${runtime?.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', checks: { database: true } });
  });

  it('answers /v1 with problem+json, and every path of its OpenAPI document is rewritten', async () => {
    const unauthorized = await fetch(`${runtime?.url}/v1/jobs`);
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.headers.get('content-type')).toContain('application/problem+json');

    const openapi = await fetch(`${runtime?.url}/openapi.json`);
    expect(openapi.status).toBe(200);
    const document = (await openapi.json()) as { paths: Record<string, unknown> };
    const vercel = JSON.parse(await readFile(join(REPO_ROOT, 'vercel.json'), 'utf8')) as {
      rewrites: { source: string; destination: string }[];
    };
    const paths = Object.keys(document.paths).map((p) => p.replaceAll(/\{[^}]+\}/g, 'x'));
    expect(paths.length).toBeGreaterThan(0);
    for (const path of paths) {
      const rewritten = vercel.rewrites.some(
        (r) => r.destination === '/api' && pathToRegexp(r.source).test(path),
      );
      expect(rewritten, `${path} reaches the function`).toBe(true);
    }
  });
});

describe.skipIf(!process.env.DATABASE_URL)('api/index.ts with the QStash transport', () => {
  let testDb: TestDatabase;
  let qstash: FakeQstash;
  let runtime: Runtime | undefined;
  // Nothing listens there: QStash's own delivery to it fails, which this test does not await.
  const deliveryUrl = 'http://127.0.0.1:9/functions/v1/webhook-delivery';

  beforeAll(async () => {
    testDb = await createTestDatabase();
    qstash = await startFakeQstash({ timeScale: 0.001 });
    runtime = await startRuntime({
      ...functionEnv(testDb.url ?? ''),
      SUPABASE_JWT_SECRET: TEST_JWT_SECRET,
      SUPABASE_JWT_ISSUER: TEST_JWT_ISSUER,
      DELIVERY_TRANSPORT: 'qstash',
      QSTASH_URL: qstash.url,
      QSTASH_TOKEN: qstash.token,
      QSTASH_CURRENT_SIGNING_KEY: qstash.signingKeys.current,
      QSTASH_NEXT_SIGNING_KEY: qstash.signingKeys.next,
      DELIVERY_ENDPOINT_URL: deliveryUrl,
      DELIVERY_CALLBACK_URL: 'http://127.0.0.1:9/functions/v1/qstash-callback',
      OUTBOUND_ALLOW_CIDRS: '127.0.0.1',
    });
  }, START_TIMEOUT_MS);

  afterAll(async () => {
    await stopRuntime(runtime);
    await qstash?.close();
    await testDb?.drop();
  });

  it('sends a webhook test ping through QStash to the delivery endpoint', async () => {
    const headers = { ...(await bearer(randomUUID())), 'content-type': 'application/json' };
    const created = await fetch(`${runtime?.url}/v1/webhooks`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ url: 'http://127.0.0.1:9/hook' }),
    });
    expect(created.status, await created.clone().text()).toBe(201);
    const { id } = (await created.json()) as { id: string };

    const ping = await fetch(`${runtime?.url}/v1/webhooks/${id}/test`, { method: 'POST', headers });

    expect(ping.status).toBe(202);
    expect(qstash.published).toHaveLength(1);
    expect(qstash.published[0]?.destination).toBe(deliveryUrl);
  });
});

describe('api/index.ts without a server database', () => {
  it('refuses to start, saying DATABASE_URL is needed', async () => {
    // On the PGlite leg too: a function has no disk, so it never falls back to PGlite.
    const { DATABASE_URL: _unset, ...env } = functionEnv('');
    const runtime = await startRuntime(env);
    try {
      // The runtime reports a failed entrypoint on the first request, then exits.
      await fetch(`${runtime.url}/healthz`).catch(() => undefined);
      expect(await runtime.exited).toBe(1);
      expect(runtime.stderr()).toContain('Kai on Vercel needs DATABASE_URL');
    } finally {
      await stopRuntime(runtime);
    }
  });
});
