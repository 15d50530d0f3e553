import { randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../core/http/app.ts';
import { createLogger } from '../core/logging/logger.ts';
import { signTestToken, testVerifier } from './helpers/auth-tokens.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

let testDb: TestDatabase;
const lines: string[] = [];

beforeAll(async () => {
  testDb = await createTestDatabase();
});

afterAll(async () => {
  await testDb.drop();
});

/** Kai's own logger (its redaction included) at its most talkative, into `lines`. */
function capturingApp() {
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return createApp({
    db: testDb.db,
    logger: createLogger({ level: 'trace', destination }),
    readiness: () => ({ migrations: true, pool: true }),
    verifyJwt: testVerifier(),
  });
}

const secret = (label: string) => `${label}${randomBytes(12).toString('hex')}`;

describe('request logs', () => {
  it('log every request but never a token, API key, cookie or secret it carried', async () => {
    const app = capturingApp();
    const sub = randomUUID();
    const jwt = await signTestToken({ sub });
    const [, , jwtSignature] = jwt.split('.');
    const auth = { authorization: `Bearer ${jwt}` };
    const json = { ...auth, 'content-type': 'application/json' };
    const secrets: string[] = [jwt, jwtSignature as string];
    const requests: { method: string; path: string }[] = [];
    const send = async (path: string, init: RequestInit = {}) => {
      const response = await app.request(path, init);
      requests.push({ method: init.method ?? 'GET', path: new URL(path, 'http://x').pathname });
      return response;
    };

    // A new API key: its secret comes back once and must go nowhere else.
    const created = await send('/v1/api-keys', {
      method: 'POST',
      headers: { ...json, 'idempotency-key': randomUUID() },
      body: JSON.stringify({ name: 'ci', scopes: ['jobs:read', 'jobs:write'] }),
    });
    expect(created.status).toBe(201);
    const apiKey = ((await created.json()) as { secret: string }).secret;
    secrets.push(apiKey);

    const querySecret = secret('q');
    const cookieSecret = secret('c');
    const bodySecret = secret('b');
    const urlSignature = secret('s');
    secrets.push(querySecret, cookieSecret, bodySecret, urlSignature);

    await send(`/v1/jobs?token=${querySecret}&access_token=${querySecret}`, {
      headers: { ...auth, cookie: `sb-access-token=${cookieSecret}` },
    });
    await send('/v1/jobs', { headers: { authorization: `Bearer ${apiKey}` } });
    const submitted = await send('/v1/jobs', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({
        type: 'noop',
        payload: {},
        input: { url: `https://files.example.com/a.png?X-Amz-Signature=${urlSignature}` },
      }),
    });
    expect(submitted.status).toBe(202);
    await send('/v1/jobs', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ type: 'noop', payload: { password: bodySecret } }),
    });

    // Credentials that fail: each a 401, none echoed.
    const forgedKey = `kai_${randomBytes(24).toString('base64url')}`;
    const tampered = `${jwt.slice(0, -4)}AAAA`;
    secrets.push(forgedKey, tampered);
    for (const token of [forgedKey, tampered, 'not.a.jwt']) {
      const refused = await send('/v1/jobs', { headers: { authorization: `Bearer ${token}` } });
      expect(refused.status).toBe(401);
    }

    // Every request left one line with what an operator needs.
    const requestLines = lines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line.msg === 'request');
    expect(requestLines.map(({ method, path }) => ({ method, path }))).toEqual(requests);
    for (const line of requestLines) {
      expect(line).toMatchObject({ requestId: expect.any(String), status: expect.any(Number) });
    }
    // A route's own lines carry the id of the request they were written for.
    const submittedLines = lines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line.msg === 'job submitted');
    const submitIds = requestLines
      .filter((line) => line.method === 'POST' && line.path === '/v1/jobs' && line.status === 202)
      .map((line) => line.requestId);
    expect(submitIds.length).toBeGreaterThan(0);
    expect(submittedLines.map((line) => line.requestId)).toEqual(submitIds);

    const output = lines.join('\n');
    for (const value of secrets) expect(output).not.toContain(value);
    expect(output).not.toMatch(/Bearer/i);
    expect(output).not.toMatch(/kai_[A-Za-z0-9_-]{20,}/);
  });
});
