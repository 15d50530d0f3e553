import type { Context, MiddlewareHandler } from 'hono';
import type { Database } from '../db/database.ts';
import type { AppEnv } from '../http/app-env.ts';
import { findLiveApiKey } from './api-keys.ts';
import { ForbiddenError, InsufficientScopeError, UnauthorizedError } from './auth-errors.ts';
import { ALL_SCOPES, type Auth, type AuthKind, scopeCovers } from './caller.ts';
import type { JwtVerifier } from './jwt-verifier.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What the auth middleware needs: the API's own connection and, if any, a JWT verifier. */
export interface AuthenticateOptions {
  db: Database;
  /** Without one, every JWT is refused; API keys still work. */
  verifyJwt?: JwtVerifier | undefined;
}

/**
 * Reads `Authorization: Bearer <token>` and sets the context variable `auth`: a Supabase JWT
 * (verified) or a Kai API key (`kai_...`, looked up by hash). No header leaves `auth`
 * undefined, for public routes; credentials that are sent but do not verify are a 401 at
 * once, whatever the route.
 */
export function authenticate(options: AuthenticateOptions): MiddlewareHandler<AppEnv> {
  // The caller of each verified claims object the verifier hands out: its cache answers a busy
  // client's token with the same object, so the caller (and the claims Postgres is given, see
  // `claimsOf`) is built once per token instead of once per request.
  const callers = new WeakMap<object, Auth>();

  return async (c, next) => {
    const header = c.req.header('authorization');
    if (header === undefined) {
      c.set('auth', undefined);
      return await next();
    }

    const match = /^Bearer +(\S+) *$/i.exec(header);
    if (!match?.[1]) {
      throw new UnauthorizedError(
        'unauthorized',
        'The Authorization header must be "Bearer <token>" with a Supabase JWT or a Kai API key.',
      );
    }
    const token = match[1];

    c.set(
      'auth',
      token.startsWith('kai_') ? await byApiKey(options.db, token) : await byJwt(token),
    );
    await next();
  };

  async function byJwt(token: string): Promise<Auth> {
    if (!options.verifyJwt) {
      throw new UnauthorizedError(
        'invalid_token',
        'This Kai takes no JWTs (no SUPABASE_JWT_SECRET or SUPABASE_JWKS_URL); use an API key.',
      );
    }
    const claims = await options.verifyJwt(token);
    const known = callers.get(claims);
    if (known) return known;
    if (typeof claims.sub !== 'string' || !UUID.test(claims.sub)) {
      throw new UnauthorizedError('invalid_token', "The bearer token's sub claim is not a UUID.");
    }
    const auth: Auth = Object.freeze({
      subject: claims.sub,
      kind: 'jwt',
      scopes: ALL_SCOPES,
      claims: Object.freeze({ ...claims }),
    });
    callers.set(claims, auth);
    return auth;
  }
}

async function byApiKey(db: Database, token: string): Promise<Auth> {
  const key = await findLiveApiKey(db, token);
  if (!key) {
    throw new UnauthorizedError('invalid_api_key', 'The API key is unknown, expired or revoked.');
  }
  return {
    subject: key.ownerId,
    kind: 'api_key',
    scopes: key.scopes,
    claims: { sub: key.ownerId, role: 'authenticated', aud: 'authenticated', api_key_id: key.id },
    apiKeyId: key.id,
  };
}

/** What a route asks of its caller: a scope, and optionally only some kinds of credentials. */
export interface CallerRequirement {
  scope?: string | undefined;
  kinds?: readonly AuthKind[] | undefined;
}

/**
 * The request's caller, or a 401 when there is none, a 403 when its credentials lack `scope`
 * or are of a kind not listed in `kinds`. Use it at the top of a handler.
 */
export function callerOf(c: Context<AppEnv>, requirement: CallerRequirement = {}): Auth {
  const auth = c.get('auth');
  if (!auth) {
    throw new UnauthorizedError(
      'unauthorized',
      'This route needs "Authorization: Bearer <token>" with a Supabase JWT or a Kai API key.',
    );
  }
  if (requirement.kinds && !requirement.kinds.includes(auth.kind)) {
    throw new ForbiddenError(
      `This route takes only ${requirement.kinds.join(' or ')} credentials, not ${auth.kind}.`,
    );
  }
  if (requirement.scope && !scopeCovers(auth.scopes, requirement.scope)) {
    throw new InsufficientScopeError(requirement.scope);
  }
  return auth;
}

/** `callerOf` as a route middleware, for `createRoute({ middleware: [requireAuth(...)] })`. */
export function requireAuth(requirement: CallerRequirement = {}): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    callerOf(c, requirement);
    await next();
  };
}
