import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
import { AuthUnavailableError, UnauthorizedError } from './auth-errors.ts';

/** Where Kai's JWTs come from and what they must say. */
export interface JwtVerifierOptions {
  /** The shared HS256 secret (Supabase's legacy JWT secret, or the local one). */
  secret?: string | undefined;
  /** A JWKS document of asymmetric keys (Supabase's signing keys). */
  jwksUrl?: string | undefined;
  /** The `iss` every token must carry. */
  issuer: string;
  /** The `aud` every token must carry; Supabase uses `authenticated`. */
  audience: string;
  /** Leeway for `exp` and `nbf` between clocks; 0 when unset. */
  clockToleranceSec?: number | undefined;
  /** Verified tokens remembered until they expire, so a busy client's token is checked once. */
  cacheSize?: number | undefined;
}

const DEFAULT_CACHE_SIZE = 1000;

/** Verifies a bearer token; resolves with its claims or throws `UnauthorizedError`. */
export type JwtVerifier = (token: string) => Promise<JWTPayload>;

/** The only algorithms a key of each kind may use; `none` is never among them. */
const SECRET_ALGORITHMS = ['HS256'];
const JWKS_ALGORITHMS = ['RS256', 'ES256'];

/**
 * A verifier for Supabase Auth JWTs: HS256 tokens against `secret`, RS256/ES256 tokens against
 * the keys at `jwksUrl` (fetched on first use, cached by jose, refetched for an unknown `kid`).
 * Issuer, audience, expiry and a `sub` are always required; a token's algorithm must be one
 * pinned for a configured key, so `alg: none` and HS256 forged with a public key are refused.
 */
export function createJwtVerifier(options: JwtVerifierOptions): JwtVerifier {
  const secret = options.secret ? new TextEncoder().encode(options.secret) : undefined;
  const jwks: JWTVerifyGetKey | undefined = options.jwksUrl
    ? createRemoteJWKSet(new URL(options.jwksUrl), { timeoutDuration: 5000 })
    : undefined;
  const checks = {
    issuer: options.issuer,
    audience: options.audience,
    requiredClaims: ['exp', 'sub'],
    clockTolerance: options.clockToleranceSec ?? 0,
  };

  // Keyed by the whole token: a hit is the very string that verified, so signature, issuer
  // and audience hold; only time moves on, and `exp` is checked again on every hit.
  const cacheSize = options.cacheSize ?? DEFAULT_CACHE_SIZE;
  const verified = new Map<string, JWTPayload>();
  const toleranceMs = (options.clockToleranceSec ?? 0) * 1000;

  const remember = (token: string, payload: JWTPayload): JWTPayload => {
    if (cacheSize <= 0) return payload;
    if (verified.size >= cacheSize) {
      const oldest = verified.keys().next();
      if (!oldest.done) verified.delete(oldest.value);
    }
    verified.set(token, Object.freeze(payload));
    return payload;
  };

  return async (token) => {
    const known = verified.get(token);
    if (known) {
      if ((known.exp ?? 0) * 1000 + toleranceMs > Date.now()) return known;
      verified.delete(token);
    }
    return remember(token, await verifyFresh(token));
  };

  async function verifyFresh(token: string): Promise<JWTPayload> {
    let alg: string | undefined;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch (error) {
      throw new UnauthorizedError('invalid_token', 'The bearer token is not a JWT.', error);
    }

    const viaJwks = alg !== undefined && JWKS_ALGORITHMS.includes(alg) && jwks !== undefined;
    try {
      if (alg === 'HS256' && secret) {
        return (await jwtVerify(token, secret, { ...checks, algorithms: SECRET_ALGORITHMS }))
          .payload;
      }
      if (viaJwks && jwks) {
        return (await jwtVerify(token, jwks, { ...checks, algorithms: JWKS_ALGORITHMS })).payload;
      }
    } catch (error) {
      if (viaJwks && isKeySetOutage(error)) {
        throw new AuthUnavailableError(
          'The signing keys (SUPABASE_JWKS_URL) cannot be fetched to verify the token; retry.',
          error,
        );
      }
      throw new UnauthorizedError('invalid_token', reasonOf(error), error);
    }
    throw new UnauthorizedError(
      'invalid_token',
      `The bearer token is signed with ${JSON.stringify(alg ?? null)}, which Kai does not accept.`,
    );
  }
}

/** The key set could not be had (timeout, network, not JSON): Kai's problem, not the token's. */
function isKeySetOutage(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  if (code === 'ERR_JWKS_TIMEOUT' || code === 'ERR_JWKS_INVALID' || code === 'ERR_JOSE_GENERIC') {
    return true;
  }
  return typeof code !== 'string' || !code.startsWith('ERR_');
}

/** jose's error codes, told in a sentence that names the failing check and leaks nothing. */
function reasonOf(error: unknown): string {
  const code = (error as { code?: string }).code;
  const claim = (error as { claim?: string }).claim;
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return 'The bearer token has expired; sign in again.';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return `The bearer token's ${claim ?? 'claims'} claim is not what Kai expects.`;
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'The bearer token signature does not verify.';
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return 'No key of the configured JWKS matches the bearer token.';
    default:
      return 'The bearer token is malformed or cannot be verified.';
  }
}
