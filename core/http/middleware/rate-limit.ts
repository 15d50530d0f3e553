import type { Context, MiddlewareHandler } from 'hono';
import type { Auth } from '../../auth/caller.ts';
import { problemResponse } from '../problem.ts';
import { clientAddress } from './client-address.ts';
import { RateLimitedError } from './edge-errors.ts';
import type { RateLimiter, RateLimitPolicy } from './rate-limiter.ts';

/** The limits Kai applies, per caller; see `policyForRequest`. */
export interface RateLimitPolicies {
  /** Every route but the probes. */
  default: RateLimitPolicy;
  /** `POST /v1/jobs`, which costs GPU time, counted apart from (not on top of) the default. */
  submit: RateLimitPolicy;
}

export interface RateLimitOptions {
  limiter: RateLimiter;
  policies: RateLimitPolicies;
  /** Use proxy headers for the client address on Node (`TRUST_PROXY`). */
  trustProxy: boolean;
}

/** Liveness, readiness and metrics are polled by machines and must never be refused. */
const UNLIMITED_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/** Which policy a request counts against, or undefined for the probes. */
export function policyForRequest(
  c: Context,
  policies: RateLimitPolicies,
): RateLimitPolicy | undefined {
  if (UNLIMITED_PATHS.has(c.req.path) || c.req.method === 'OPTIONS') return undefined;
  if (c.req.method === 'POST' && c.req.path.replace(/\/+$/, '') === '/v1/jobs') {
    return policies.submit;
  }
  return policies.default;
}

/**
 * Who a request is counted as: its API key, else its authenticated user, else its address.
 * Unverified credentials never count as a caller: a flood of made-up tokens shares the bucket
 * of the address that sends it.
 */
export function rateLimitKey(c: Context, trustProxy: boolean): string {
  const auth = c.get('auth') as Auth | undefined;
  if (auth?.apiKeyId) return `key:${auth.apiKeyId}`;
  if (auth?.subject) return `user:${auth.subject}`;
  return `ip:${clientAddress(c, trustProxy)}`;
}

/**
 * Rate limits every request but the probes, per caller, with `@upstash/ratelimit`'s sliding
 * window. Each limited response carries the IETF draft headers in their separate-field form
 * (draft-ietf-httpapi-ratelimit-headers, as GitHub-style clients and express-rate-limit's
 * `draft-6` read them): `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (seconds
 * until the window resets) and `RateLimit-Policy` (`<limit>;w=<window seconds>`). A refused
 * request is answered 429 `rate_limited` with `Retry-After` (seconds) too. When the store is
 * down the request passes without these headers (fail open; the limiter logs a warning).
 */
export function rateLimit(options: RateLimitOptions): MiddlewareHandler {
  return async function rateLimitMiddleware(c, next) {
    const policy = policyForRequest(c, options.policies);
    if (policy === undefined) return next();

    const decision = await options.limiter.limit(rateLimitKey(c, options.trustProxy), policy);
    if (decision.degraded) return next();

    const resetSeconds = Math.max(0, Math.ceil((decision.resetAtMs - Date.now()) / 1000));
    c.header('RateLimit-Limit', String(decision.limit));
    c.header('RateLimit-Remaining', String(decision.remaining));
    c.header('RateLimit-Reset', String(resetSeconds));
    c.header('RateLimit-Policy', `${policy.limit};w=${Math.ceil(policy.windowMs / 1000)}`);

    if (!decision.allowed) {
      const retryAfterSeconds = Math.max(1, resetSeconds);
      c.header('Retry-After', String(retryAfterSeconds));
      return problemResponse(
        c,
        new RateLimitedError(policy.name, policy.limit, policy.windowMs, retryAfterSeconds),
      );
    }

    await next();
  };
}
