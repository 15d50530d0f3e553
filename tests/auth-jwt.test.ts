// Bearer JWTs through the app: what Supabase Auth issues is accepted; expired, foreign,
// unsigned, tampered and wrongly signed tokens are refused with a 401 problem. JWKS keys are
// fetched from a local node:http server speaking the JWKS contract.
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJwtVerifier } from '../core/auth/jwt-verifier.ts';
import { asCaller } from '../core/auth/user-scope.ts';
import { createApp } from '../core/http/app.ts';
import { createLogger } from '../core/logging/logger.ts';
import {
  signTestToken,
  TEST_JWT_AUDIENCE,
  TEST_JWT_ISSUER,
  TEST_JWT_SECRET,
  testVerifier,
} from './helpers/auth-tokens.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

const logger = createLogger({ level: 'silent' });

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
let testDb: TestDatabase;

beforeAll(async () => {
  testDb = await createTestDatabase();
});

afterAll(async () => {
  await testDb?.drop();
});

function appWith(verifyJwt = testVerifier()) {
  return createApp({
    db: testDb.db,
    logger,
    readiness: () => ({ migrations: true, pool: true }),
    verifyJwt,
  });
}

async function listJobs(app: ReturnType<typeof appWith>, token: string) {
  return await app.request('/v1/jobs', { headers: { authorization: `Bearer ${token}` } });
}

const secretKey = (secret: string) => new TextEncoder().encode(secret);

/** A token like the test one, with one thing changed. */
async function tokenWith(change: {
  issuer?: string;
  audience?: string;
  expiresAt?: number;
  secret?: string;
  sub?: string | null;
}): Promise<string> {
  const jwt = new SignJWT({ role: 'authenticated' })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(change.issuer ?? TEST_JWT_ISSUER)
    .setAudience(change.audience ?? TEST_JWT_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(change.expiresAt ?? Math.floor(Date.now() / 1000) + 300);
  if (change.sub !== null) jwt.setSubject(change.sub ?? randomUUID());
  return await jwt.sign(secretKey(change.secret ?? TEST_JWT_SECRET));
}

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

describe('Supabase JWTs (HS256)', () => {
  it('accepts a valid token and runs the request as that user under RLS', async () => {
    const sub = randomUUID();
    const response = await listJobs(appWith(), await signTestToken({ sub }));

    expect(response.status).toBe(200);
    const who = await asCaller(
      testDb.db,
      { subject: sub, kind: 'jwt', scopes: ['*'], claims: { email: 'a@example.com' } },
      (tx) =>
        tx.query<{ role: string; uid: string; email: string }>(
          `select current_user as role, auth.uid()::text as uid, auth.jwt() ->> 'email' as email`,
        ),
    );
    expect(who).toEqual([{ role: 'authenticated', uid: sub, email: 'a@example.com' }]);
  });

  const refusals: [string, () => Promise<string>, RegExp][] = [
    ['expired', () => tokenWith({ expiresAt: Math.floor(Date.now() / 1000) - 60 }), /expired/],
    ['of another issuer', () => tokenWith({ issuer: 'https://evil.example/auth/v1' }), /iss/],
    ['for another audience', () => tokenWith({ audience: 'anon' }), /aud/],
    ['signed with another secret', () => tokenWith({ secret: 'x'.repeat(40) }), /signature/],
    ['without a subject', () => tokenWith({ sub: null }), /sub/],
    ['whose subject is not a UUID', () => tokenWith({ sub: 'admin' }), /UUID/],
    [
      'unsigned (alg: none)',
      async () =>
        `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({
          sub: randomUUID(),
          iss: TEST_JWT_ISSUER,
          aud: TEST_JWT_AUDIENCE,
          exp: Math.floor(Date.now() / 1000) + 300,
        })}.`,
      /does not accept/,
    ],
    [
      'tampered (payload changed after signing)',
      async () => {
        const [header, , signature] = (await signTestToken()).split('.');
        const forged = b64url({
          sub: randomUUID(),
          role: 'service_role',
          iss: TEST_JWT_ISSUER,
          aud: TEST_JWT_AUDIENCE,
          exp: Math.floor(Date.now() / 1000) + 300,
        });
        return `${header}.${forged}.${signature}`;
      },
      /signature/,
    ],
    ['not a JWT at all', async () => 'definitely-not-a-jwt', /not a JWT/],
  ];

  for (const [what, make, reason] of refusals) {
    it(`refuses a token ${what} with a 401 problem`, async () => {
      const response = await listJobs(appWith(), await make());
      const body = (await response.json()) as { code: string; detail: string };

      expect(response.status).toBe(401);
      expect(response.headers.get('content-type')).toBe('application/problem+json');
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(body.code).toBe('invalid_token');
      expect(body.detail).toMatch(reason);
    });
  }

  it('refuses a token that verified once as soon as it expires, cache or not', async () => {
    const app = appWith();
    // At least a second to live, so the two reads before it expires fit in a loaded machine.
    const expSec = Math.floor(Date.now() / 1000) + 2;
    const token = await tokenWith({ expiresAt: expSec });

    expect((await listJobs(app, token)).status).toBe(200);
    expect((await listJobs(app, token)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, expSec * 1000 - Date.now() + 50));
    const late = await listJobs(app, token);

    expect(late.status).toBe(401);
    expect(await late.json()).toMatchObject({ code: 'invalid_token' });
  });

  it('refuses a header that is not "Bearer <token>", and no header on a private route', async () => {
    const app = appWith();
    const basic = await app.request('/v1/jobs', { headers: { authorization: 'Basic dTpw' } });
    const none = await app.request('/v1/jobs');

    expect(basic.status).toBe(401);
    expect(await basic.json()).toMatchObject({ code: 'unauthorized' });
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({ code: 'unauthorized' });
  });

  it('refuses every JWT when no secret or JWKS is configured', async () => {
    const app = createApp({
      db: testDb.db,
      logger,
      readiness: () => ({ migrations: true, pool: true }),
    });
    const response = await listJobs(app, await signTestToken());

    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ code: 'invalid_token' });
  });
});

describe('Supabase JWTs (JWKS)', () => {
  let server: Server;
  let jwksUrl: string;
  let served: { keys: JWK[] } = { keys: [] };
  let fetches = 0;
  let signingKey: PrivateKey;
  let rsaKey: PrivateKey;
  const ISSUER = 'https://project.supabase.example/auth/v1';

  beforeAll(async () => {
    const ec = await generateKeyPair('ES256', { extractable: true });
    const rsa = await generateKeyPair('RS256', { extractable: true });
    signingKey = ec.privateKey;
    rsaKey = rsa.privateKey;
    served = {
      keys: [
        { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' },
        { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
      ],
    };
    server = createServer((request, response) => {
      if (request.url !== '/auth/v1/.well-known/jwks.json') {
        response.writeHead(404).end();
        return;
      }
      fetches += 1;
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(served));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    jwksUrl = `http://127.0.0.1:${port}/auth/v1/.well-known/jwks.json`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
  });

  const jwksApp = () =>
    appWith(createJwtVerifier({ jwksUrl, issuer: ISSUER, audience: 'authenticated' }));

  async function signed(key: PrivateKey, alg: string, kid: string, issuer = ISSUER) {
    return await new SignJWT({ role: 'authenticated' })
      .setProtectedHeader({ alg, kid })
      .setSubject(randomUUID())
      .setIssuer(issuer)
      .setAudience('authenticated')
      .setExpirationTime('5m')
      .sign(key);
  }

  it('accepts ES256 and RS256 tokens signed by keys of the JWKS, fetching it once', async () => {
    const app = jwksApp();
    const before = fetches;

    expect((await listJobs(app, await signed(signingKey, 'ES256', 'ec-1'))).status).toBe(200);
    expect((await listJobs(app, await signed(rsaKey, 'RS256', 'rsa-1'))).status).toBe(200);
    expect((await listJobs(app, await signed(signingKey, 'ES256', 'ec-1'))).status).toBe(200);
    expect(fetches - before).toBe(1);
  });

  it('refuses a token signed by a key that is not in the JWKS', async () => {
    const stranger = await generateKeyPair('ES256');
    const response = await listJobs(jwksApp(), await signed(stranger.privateKey, 'ES256', 'ec-1'));

    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ code: 'invalid_token' });
  });

  it('refuses a JWKS-signed token of another issuer', async () => {
    const token = await signed(signingKey, 'ES256', 'ec-1', 'https://other.example/auth/v1');
    const response = await listJobs(jwksApp(), token);

    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ detail: expect.stringMatching(/iss/) });
  });

  it('refuses HS256 tokens when only a JWKS is configured (no algorithm confusion)', async () => {
    const response = await listJobs(jwksApp(), await signTestToken());

    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ detail: expect.stringMatching(/HS256/) });
  });

  it('answers 503 auth_unavailable, not 500 or 401, when the JWKS cannot be fetched', async () => {
    const app = appWith(
      createJwtVerifier({
        jwksUrl: 'http://127.0.0.1:9/nothing-listens-here',
        issuer: ISSUER,
        audience: 'authenticated',
      }),
    );
    const response = await listJobs(app, await signed(signingKey, 'ES256', 'ec-1'));

    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ code: 'auth_unavailable' });
  });
});
