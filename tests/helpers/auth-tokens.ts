import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { ALL_SCOPES, type Auth } from '../../core/auth/caller.ts';
import { createJwtVerifier, type JwtVerifier } from '../../core/auth/jwt-verifier.ts';

/** The HS256 secret, issuer and audience of the JWTs tests sign. */
export const TEST_JWT_SECRET = 'kai-test-secret-not-for-production-0123456789';
export const TEST_JWT_ISSUER = 'kai-test';
export const TEST_JWT_AUDIENCE = 'authenticated';

/** A verifier that accepts what `signTestToken` signs, for `createApp({ verifyJwt })`. */
export function testVerifier(): JwtVerifier {
  return createJwtVerifier({
    secret: TEST_JWT_SECRET,
    issuer: TEST_JWT_ISSUER,
    audience: TEST_JWT_AUDIENCE,
  });
}

/** Signs a Supabase-shaped user JWT for `sub` (a fresh UUID when unset), valid 5 minutes. */
export async function signTestToken(
  options: { sub?: string; claims?: Record<string, unknown> } = {},
): Promise<string> {
  return await new SignJWT({ role: 'authenticated', ...options.claims })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(options.sub ?? randomUUID())
    .setIssuer(TEST_JWT_ISSUER)
    .setAudience(TEST_JWT_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(TEST_JWT_SECRET));
}

/** The headers of a request by user `sub`. */
export async function bearer(sub: string): Promise<Record<string, string>> {
  return { authorization: `Bearer ${await signTestToken({ sub })}` };
}

/** A verified user as the API's auth middleware sets it: a fresh UUID, all scopes. */
export function testCaller(): Auth {
  const subject = randomUUID();
  return {
    subject,
    kind: 'jwt',
    scopes: ALL_SCOPES,
    claims: { sub: subject, role: 'authenticated', aud: 'authenticated' },
  };
}
