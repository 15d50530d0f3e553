import { createHash, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { Redis } from '@upstash/redis';
import { pino } from 'pino';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config/load-config.ts';
import { createApp } from '../core/http/app.ts';
import { networkOf } from '../core/http/middleware/client-address.ts';
import { createRateLimiter } from '../core/http/middleware/create-rate-limiter.ts';
import {
  DEFAULT_EDGE_SETTINGS,
  type EdgeSettings,
} from '../core/http/middleware/edge-middleware.ts';
import { createMemoryRateLimiter } from '../core/http/middleware/memory-rate-limiter.ts';
import type { RateLimiter, RateLimitPolicy } from '../core/http/middleware/rate-limiter.ts';
import { createUpstashRateLimiter } from '../core/http/middleware/upstash-rate-limiter.ts';
import { createLogger } from '../core/logging/logger.ts';
import { serveNode } from '../core/node/serve-node.ts';
import { bearer, testVerifier } from './helpers/auth-tokens.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

const REDIS_URL = 'redis://127.0.0.1:6379';
/** Every key this run writes starts with it, so runs never meet and cleanup finds them all. */
const PREFIX = `kai-test:${process.pid}:${randomUUID()}`;
const logger = createLogger({ level: 'silent' });
const HOUR_MS = 3_600_000;

let testDb: TestDatabase;
let redis: ReturnType<typeof createClient>;
const limiters: RateLimiter[] = [];

beforeAll(async () => {
  testDb = await createTestDatabase();
  redis = createClient({ url: REDIS_URL });
  await redis.connect();
});

afterAll(async () => {
  await Promise.all(limiters.map((limiter) => limiter.close()));
  for await (const keys of redis.scanIterator({ MATCH: `${PREFIX}*`, COUNT: 1000 })) {
    if (keys.length > 0) await redis.del(keys);
  }
  redis.destroy();
  await testDb.drop();
});

function redisLimiter(prefix = `${PREFIX}:${randomUUID()}`): RateLimiter {
  const limiter = createRateLimiter({
    store: { kind: 'redis', url: REDIS_URL },
    prefix,
    timeoutMs: 2000,
    logger,
  });
  limiters.push(limiter);
  return limiter;
}

function settings(perMinute: number, submitPerMinute = perMinute): EdgeSettings {
  return {
    ...DEFAULT_EDGE_SETTINGS,
    rateLimit: { ...DEFAULT_EDGE_SETTINGS.rateLimit, perMinute, submitPerMinute },
  };
}

function appWith(limiter: RateLimiter, edge: EdgeSettings) {
  return createApp({
    db: testDb.db,
    logger,
    readiness: () => ({ migrations: true, pool: true }),
    verifyJwt: testVerifier(),
    edge,
    rateLimiter: limiter,
  });
}

/** Waits until Redis answers through the limiter (it connects in the background). */
async function untilConnected(limiter: RateLimiter) {
  const probe: RateLimitPolicy = { name: 'probe', limit: 1000, windowMs: HOUR_MS };
  for (let i = 0; i < 100; i++) {
    if (!(await limiter.limit(randomUUID(), probe)).degraded) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('Redis did not become ready');
}

describe.each([
  ['memory', () => createMemoryRateLimiter()],
  ['redis', () => redisLimiter()],
] as const)('rate limits through the app (%s store)', (_store, makeLimiter) => {
  it('lets a caller make `limit` requests, then answers 429 problem+json with the headers', async () => {
    const limiter = makeLimiter();
    await untilConnected(limiter);
    const app = appWith(limiter, settings(3));
    const headers = await bearer(randomUUID());

    const remaining: (string | null)[] = [];
    for (let i = 0; i < 3; i++) {
      const response = await app.request('/v1/models', { headers });
      expect(response.status).toBe(200);
      expect(response.headers.get('ratelimit-limit')).toBe('3');
      expect(response.headers.get('ratelimit-policy')).toBe('3;w=60');
      expect(Number(response.headers.get('ratelimit-reset'))).toBeGreaterThanOrEqual(0);
      expect(Number(response.headers.get('ratelimit-reset'))).toBeLessThanOrEqual(60);
      expect(response.headers.get('retry-after')).toBeNull();
      remaining.push(response.headers.get('ratelimit-remaining'));
    }
    expect(remaining).toEqual(['2', '1', '0']);

    const refused = await app.request('/v1/models', { headers });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toBe('application/problem+json');
    expect(refused.headers.get('ratelimit-remaining')).toBe('0');
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(await refused.json()).toMatchObject({
      code: 'rate_limited',
      status: 429,
      policy: 'default',
      limit: 3,
      retryAfterSeconds: retryAfter,
      requestId: refused.headers.get('x-request-id'),
    });
  });

  it('counts each user apart, and callers without credentials by address', async () => {
    const limiter = makeLimiter();
    await untilConnected(limiter);
    const app = appWith(limiter, settings(1));

    const first = await bearer(randomUUID());
    expect((await app.request('/v1/models', { headers: first })).status).toBe(200);
    expect((await app.request('/v1/models', { headers: first })).status).toBe(429);
    expect((await app.request('/v1/models', { headers: await bearer(randomUUID()) })).status).toBe(
      200,
    );

    // Without a socket (as on Vercel) the platform's address headers tell callers apart.
    const fromA = { 'x-real-ip': '203.0.113.7' };
    expect((await app.request('/v1/models', { headers: fromA })).status).toBe(200);
    expect((await app.request('/v1/models', { headers: fromA })).status).toBe(429);
    expect(
      (await app.request('/v1/models', { headers: { 'x-real-ip': '203.0.113.8' } })).status,
    ).toBe(200);
  });

  it('never limits the health probes', async () => {
    const limiter = makeLimiter();
    const app = appWith(limiter, settings(1));

    for (let i = 0; i < 5; i++) {
      const response = await app.request('/healthz');
      expect(response.status).toBe(200);
      expect(response.headers.get('ratelimit-limit')).toBeNull();
    }
  });

  it('counts POST /v1/jobs under its own submit limit', async () => {
    const limiter = makeLimiter();
    await untilConnected(limiter);
    const app = appWith(limiter, settings(10, 1));
    const headers = { ...(await bearer(randomUUID())), 'content-type': 'application/json' };

    const first = await app.request('/v1/jobs', { method: 'POST', headers, body: '{}' });
    expect(first.status).not.toBe(429);
    expect(first.headers.get('ratelimit-policy')).toBe('1;w=60');

    const second = await app.request('/v1/jobs', { method: 'POST', headers, body: '{}' });
    expect(second.status).toBe(429);
    expect(await second.json()).toMatchObject({ code: 'rate_limited', policy: 'submit' });

    const other = await app.request('/v1/models', { headers });
    expect(other.status).toBe(200);
    expect(other.headers.get('ratelimit-policy')).toBe('10;w=60');
  });
});

describe('one algorithm in every store', () => {
  it('decides the same sequence in memory, on Redis and on Upstash (REST) over Redis', async () => {
    const upstash = await startUpstashRestFake('fake-upstash-token');
    try {
      const upstashLimiter = createRateLimiter({
        store: { kind: 'upstash', url: upstash.url, token: 'fake-upstash-token' },
        prefix: `${PREFIX}:upstash`,
        timeoutMs: 2000,
        logger,
      });
      const stores = [createMemoryRateLimiter(), redisLimiter(), upstashLimiter];
      await untilConnected(stores[1] as RateLimiter);
      const policy: RateLimitPolicy = { name: 'same', limit: 5, windowMs: HOUR_MS };

      const sequences = [];
      for (const store of stores) {
        const caller = randomUUID();
        const decisions = [];
        for (let i = 0; i < 8; i++) {
          const { allowed, remaining, limit, degraded } = await store.limit(caller, policy);
          decisions.push({ allowed, remaining, limit, degraded });
        }
        sequences.push(decisions);
      }

      expect(sequences[0]?.map((d) => d.allowed)).toEqual([
        ...Array(5).fill(true),
        ...Array(3).fill(false),
      ]);
      expect(sequences[0]?.map((d) => d.remaining)).toEqual([4, 3, 2, 1, 0, 0, 0, 0]);
      expect(sequences[1]).toEqual(sequences[0]);
      expect(sequences[2]).toEqual(sequences[0]);
      expect(upstash.commands).toContain('EVALSHA');
    } finally {
      await upstash.close();
    }
  });

  it("keeps the counts in Redis under the configured prefix, with the window's expiry", async () => {
    const prefix = `${PREFIX}:${randomUUID()}`;
    const limiter = redisLimiter(prefix);
    await untilConnected(limiter);

    await limiter.limit('caller-1', { name: 'default', limit: 10, windowMs: 60_000 });

    const keys = await redis.keys(`${prefix}:default:caller-1:*`);
    expect(keys).toHaveLength(1);
    expect(await redis.get(keys[0] as string)).toBe('1');
    const ttlMs = await redis.pTTL(keys[0] as string);
    expect(ttlMs).toBeGreaterThan(60_000);
    expect(ttlMs).toBeLessThanOrEqual(121_000);
  });

  it('lets a refused caller through again once the window has passed', async () => {
    const limiter = redisLimiter();
    await untilConnected(limiter);
    const policy: RateLimitPolicy = { name: 'short', limit: 2, windowMs: 500 };

    await limiter.limit('c', policy);
    await limiter.limit('c', policy);
    const refused = await limiter.limit('c', policy);
    expect(refused.allowed).toBe(false);

    // Two windows on, the previous window weighs nothing any more.
    await new Promise((resolve) => setTimeout(resolve, refused.resetAtMs - Date.now() + 550));
    expect((await limiter.limit('c', policy)).allowed).toBe(true);
  });
});

describe('who counts as one caller', () => {
  it('takes the socket address on Node and ignores forged proxy headers', async () => {
    const app = appWith(createMemoryRateLimiter(), settings(1));
    const server = await serveNode(app, { host: '127.0.0.1', port: 0 });
    try {
      const first = await fetch(`${server.url}/v1/models`, {
        headers: { 'x-real-ip': '198.51.100.1' },
      });
      expect(first.status).toBe(200);
      const forged = await fetch(`${server.url}/v1/models`, {
        headers: { 'x-real-ip': '198.51.100.2', 'x-forwarded-for': '198.51.100.3' },
      });
      expect(forged.status).toBe(429);
    } finally {
      await server.close();
    }
  });

  it("trusts the proxy's headers with TRUST_PROXY, and on Vercel by default", async () => {
    const edge = settings(1);
    const app = appWith(createMemoryRateLimiter(), {
      ...edge,
      rateLimit: { ...edge.rateLimit, trustProxy: true },
    });
    const server = await serveNode(app, { host: '127.0.0.1', port: 0 });
    try {
      const from = (ip: string) =>
        fetch(`${server.url}/v1/models`, { headers: { 'x-forwarded-for': `10.0.0.9, ${ip}` } });
      expect((await from('198.51.100.1')).status).toBe(200);
      expect((await from('198.51.100.1')).status).toBe(429);
      expect((await from('198.51.100.2')).status).toBe(200);
    } finally {
      await server.close();
    }

    expect(loadConfig({}).edge.rateLimit.trustProxy).toBe(false);
    expect(loadConfig({ VERCEL: '1' }).edge.rateLimit.trustProxy).toBe(true);
    expect(loadConfig({ VERCEL: '1', TRUST_PROXY: 'false' }).edge.rateLimit.trustProxy).toBe(false);
  });

  it('counts an IPv6 subscriber by its /64 and an IPv4-mapped peer as IPv4', () => {
    expect(networkOf('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(networkOf('2001:0db8:0001:0002:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(networkOf('[2001:db8::7]')).toBe('2001:db8:0:0::/64');
    expect(networkOf('::ffff:192.0.2.4')).toBe('192.0.2.4');
    expect(networkOf('192.0.2.4')).toBe('192.0.2.4');
  });
});

describe('failed authentications', () => {
  it('are limited per address before authentication, and then refuse it for the window', async () => {
    const edge = settings(100);
    const app = appWith(createMemoryRateLimiter(), {
      ...edge,
      rateLimit: { ...edge.rateLimit, authFailuresPerMinute: 3 },
    });
    const from = (ip: string, authorization?: string) =>
      app.request('/v1/jobs', {
        headers: { 'x-real-ip': ip, ...(authorization ? { authorization } : {}) },
      });

    for (let i = 0; i < 3; i++) {
      expect((await from('203.0.113.50', `Bearer kai_forged${i}`)).status).toBe(401);
    }
    const refused = await from('203.0.113.50', 'Bearer kai_forged');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toBe('application/problem+json');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await refused.json()).toMatchObject({ code: 'rate_limited', policy: 'auth_failures' });

    // Blocked before authentication: even good credentials from there wait for the window.
    const valid = await bearer(randomUUID());
    expect((await from('203.0.113.50', valid.authorization)).status).toBe(429);
    expect((await from('203.0.113.51', 'Bearer kai_forged')).status).toBe(401);
    expect((await from('203.0.113.51', valid.authorization)).status).toBe(200);
  });

  it('count only requests that sent credentials', async () => {
    const edge = settings(100);
    const app = appWith(createMemoryRateLimiter(), {
      ...edge,
      rateLimit: { ...edge.rateLimit, authFailuresPerMinute: 1 },
    });
    for (let i = 0; i < 5; i++) {
      const response = await app.request('/v1/jobs', { headers: { 'x-real-ip': '203.0.113.60' } });
      expect(response.status).toBe(401);
    }
  });
});

describe('rate limits in the configuration', () => {
  it('picks Upstash, else REDIS_URL, else memory, with the default limits', () => {
    const upstash = {
      UPSTASH_REDIS_REST_URL: 'https://eu1.upstash.io',
      UPSTASH_REDIS_REST_TOKEN: 't',
    };
    expect(loadConfig({}).edge.rateLimit).toMatchObject({
      enabled: true,
      store: { kind: 'memory' },
      perMinute: 600,
      submitPerMinute: 120,
      authFailuresPerMinute: 60,
    });
    expect(loadConfig({ REDIS_URL }).edge.rateLimit.store).toEqual({
      kind: 'redis',
      url: REDIS_URL,
    });
    expect(loadConfig({ REDIS_URL, ...upstash }).edge.rateLimit.store).toEqual({
      kind: 'upstash',
      url: 'https://eu1.upstash.io',
      token: 't',
    });
    expect(loadConfig({ RATE_LIMIT_PER_MINUTE: '30' }).edge.rateLimit.perMinute).toBe(30);
  });

  it('stops start-up on a wrong variable, naming it', () => {
    expect(() => loadConfig({ REDIS_URL: 'http://127.0.0.1:6379' })).toThrow(/REDIS_URL expects/);
    expect(() => loadConfig({ UPSTASH_REDIS_REST_URL: 'https://eu1.upstash.io' })).toThrow(
      /UPSTASH_REDIS_REST_TOKEN is unset/,
    );
    expect(() => loadConfig({ RATE_LIMIT_PER_MINUTE: '0' })).toThrow(/RATE_LIMIT_PER_MINUTE/);
  });
});

describe('when Redis is unavailable', () => {
  it('fails open with one warning when Redis refuses connections', async () => {
    const lines: string[] = [];
    const warnLogger = pino({ level: 'warn' }, captureStream(lines));
    const limiter = createRateLimiter({
      store: { kind: 'redis', url: 'redis://127.0.0.1:1' },
      prefix: PREFIX,
      timeoutMs: 500,
      logger: warnLogger,
    });
    limiters.push(limiter);
    const app = appWith(limiter, settings(1));
    const headers = await bearer(randomUUID());

    for (let i = 0; i < 3; i++) {
      const response = await app.request('/v1/models', { headers });
      expect(response.status).toBe(200);
      expect(response.headers.get('ratelimit-limit')).toBeNull();
    }
    const warnings = lines.map((line) => JSON.parse(line));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 40, store: 'redis', reason: 'error' });
  });

  it('fails open after the timeout when Redis accepts but never answers', async () => {
    const silent = await startSilentServer();
    try {
      const lines: string[] = [];
      const limiter = createUpstashRateLimiter({
        redis: new Redis({ url: silent.url, token: 't', retry: false }),
        store: 'upstash',
        prefix: PREFIX,
        timeoutMs: 200,
        logger: pino({ level: 'warn' }, captureStream(lines)),
      });
      const policy: RateLimitPolicy = { name: 'default', limit: 1, windowMs: 60_000 };

      const startedAt = performance.now();
      const decision = await limiter.limit('caller', policy);
      expect(performance.now() - startedAt).toBeLessThan(1500);
      expect(decision).toMatchObject({ allowed: true, degraded: true });
      expect(JSON.parse(lines[0] as string)).toMatchObject({ reason: 'timeout' });
    } finally {
      await silent.close();
    }
  });
});

function captureStream(lines: string[]): Writable {
  return new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
}

/**
 * Upstash's REST API (`POST /` with a command array, `POST /pipeline` with several; bearer
 * token; `Upstash-Encoding: base64` for string replies), served here over the real local Redis.
 * Upstash itself is a cloud service, so this fake speaks its contract.
 */
async function startUpstashRestFake(token: string) {
  const backend = createClient({ url: REDIS_URL });
  await backend.connect();
  const commands: string[] = [];

  // Upstash's engine knows the script flag `allow-key-locking`; Redis 7 does not, so this fake
  // drops it and answers to the hash of the script as it was sent, as Upstash does.
  const hashes = new Map<string, string>();
  const toRedis = async (args: string[]): Promise<string[]> => {
    const name = String(args[0]).toUpperCase();
    if (name === 'EVAL' && args[1]?.includes('allow-key-locking')) {
      const script = args[1];
      const loaded = String(
        await backend.sendCommand([
          'SCRIPT',
          'LOAD',
          script.replace(' flags=allow-key-locking', ''),
        ]),
      );
      hashes.set(createHash('sha1').update(script).digest('hex'), loaded);
      return ['EVALSHA', loaded, ...args.slice(2)];
    }
    if (name === 'EVALSHA')
      return ['EVALSHA', hashes.get(args[1] ?? '') ?? String(args[1]), ...args.slice(2)];
    return args;
  };

  const run = async (command: unknown[], base64: boolean) => {
    const args = command.map((part) => (typeof part === 'string' ? part : JSON.stringify(part)));
    commands.push(String(args[0]).toUpperCase());
    try {
      const result = await backend.sendCommand(await toRedis(args));
      return { result: base64 ? encode(result) : result };
    } catch (error) {
      return { error: (error as Error).message };
    }
  };

  const server = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    if (req.headers.authorization !== `Bearer ${token}`) {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'Unauthorized' }));
      return;
    }
    const base64 = req.headers['upstash-encoding'] === 'base64';
    const parsed = JSON.parse(body) as unknown[];
    const reply =
      req.url === '/pipeline' || req.url === '/multi-exec'
        ? await Promise.all((parsed as unknown[][]).map((command) => run(command, base64)))
        : await run(parsed, base64);
    const failed = !Array.isArray(reply) && 'error' in reply;
    res.writeHead(failed ? 400 : 200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(reply));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    commands,
    close: async () => {
      await closeServer(server);
      backend.destroy();
    },
  };
}

function encode(value: unknown): unknown {
  if (typeof value === 'string')
    return value === 'OK' ? value : Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map(encode);
  return value;
}

/** A server that takes connections and requests and never answers them. */
async function startSilentServer() {
  const server = createServer(() => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => closeServer(server),
  };
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
