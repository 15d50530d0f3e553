import type { MiddlewareHandler } from 'hono';
import { problemResponse } from '../problem.ts';
import { clientAddress } from './client-address.ts';
import { RateLimitedError } from './edge-errors.ts';
import type { RateLimiter, RateLimitPolicy } from './rate-limiter.ts';

export interface AuthFailureLimitOptions {
  limiter: RateLimiter;
  /** Failed authentications one address may cause per window. */
  policy: RateLimitPolicy;
  trustProxy: boolean;
}

/** Above this many blocked addresses, the expired blocks are dropped. */
const SWEEP_AT_BLOCKS = 10_000;

/**
 * Limits failed authentications per client address, mounted before authentication: credentials
 * that do not verify never count as a caller (so they cannot get buckets of their own from the
 * per-caller limit), and each costs a JWT check or an API key lookup. Every 401 to a request
 * that sent `Authorization` counts under `policy`; past it the request is answered 429
 * `rate_limited`, and until the window resets this process refuses the address's credentialed
 * requests before they reach authentication.
 *
 * Limitation: the early refusal is per process; another instance refuses the address at its
 * next failure, when the shared count tells it so.
 */
export function limitAuthFailures(options: AuthFailureLimitOptions): MiddlewareHandler {
  const blockedUntilMs = new Map<string, number>();

  const refuse = (c: Parameters<MiddlewareHandler>[0], resetAtMs: number) => {
    const retryAfterSeconds = Math.max(1, Math.ceil((resetAtMs - Date.now()) / 1000));
    c.header('Retry-After', String(retryAfterSeconds));
    const { name, limit, windowMs } = options.policy;
    return problemResponse(c, new RateLimitedError(name, limit, windowMs, retryAfterSeconds));
  };

  return async function authFailureLimit(c, next) {
    if (c.req.header('authorization') === undefined) return next();
    const address = clientAddress(c, options.trustProxy);

    const blockedUntil = blockedUntilMs.get(address);
    if (blockedUntil !== undefined) {
      if (blockedUntil > Date.now()) return refuse(c, blockedUntil);
      blockedUntilMs.delete(address);
    }

    await next();
    if (c.res.status !== 401) return;

    const decision = await options.limiter.limit(`ip:${address}`, options.policy);
    if (decision.allowed) return;

    if (blockedUntilMs.size >= SWEEP_AT_BLOCKS) {
      const nowMs = Date.now();
      for (const [key, until] of blockedUntilMs) if (until <= nowMs) blockedUntilMs.delete(key);
    }
    blockedUntilMs.set(address, decision.resetAtMs);
    c.res = refuse(c, decision.resetAtMs);
  };
}
