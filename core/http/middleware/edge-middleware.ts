import type { MiddlewareHandler } from 'hono';
import { DEFAULTS } from '../../config/defaults.ts';
import type { KaiConfig } from '../../config/load-config.ts';
import type { Database } from '../../db/database.ts';
import type { Logger } from '../../logging/logger.ts';
import { limitAuthFailures } from './auth-failure-limit.ts';
import { limitBodySize } from './body-limit.ts';
import { corsFromOrigins } from './cors.ts';
import { createRateLimiter } from './create-rate-limiter.ts';
import { idempotency } from './idempotency.ts';
import { rateLimit } from './rate-limit.ts';
import type { RateLimiter } from './rate-limiter.ts';

const MINUTE_MS = 60_000;

/** The edge's settings, as `loadConfig` reads them from the environment. */
export type EdgeSettings = KaiConfig['edge'];

/** What the edge does when the app is built without settings: Kai's defaults, in memory. */
export const DEFAULT_EDGE_SETTINGS: EdgeSettings = {
  rateLimit: {
    enabled: DEFAULTS.RATE_LIMIT_ENABLED,
    store: { kind: 'memory' },
    perMinute: DEFAULTS.RATE_LIMIT_PER_MINUTE,
    submitPerMinute: DEFAULTS.RATE_LIMIT_SUBMIT_PER_MINUTE,
    authFailuresPerMinute: DEFAULTS.RATE_LIMIT_AUTH_FAILURES_PER_MINUTE,
    timeoutMs: DEFAULTS.RATE_LIMIT_TIMEOUT_MS,
    trustProxy: DEFAULTS.TRUST_PROXY,
  },
  corsOrigins: [],
  bodyLimitBytes: DEFAULTS.API_BODY_LIMIT_BYTES,
  idempotencyTtlMs: DEFAULTS.IDEMPOTENCY_KEY_TTL_MS,
};

/** The prefix of Kai's rate limit keys in Redis. */
export const RATE_LIMIT_KEY_PREFIX = 'kai:ratelimit';

export interface EdgeMiddlewareOptions {
  db: Database;
  logger: Logger;
  settings?: EdgeSettings | undefined;
  /** A limiter built by the caller (who closes it); else one is built from the settings. */
  rateLimiter?: RateLimiter | undefined;
}

/** The edge middleware in the two places of the app where each belongs. */
export interface EdgeMiddleware {
  /**
   * CORS, the body limit and the limit on failed authentications: before authentication, so
   * they hold for every request.
   */
  beforeAuth: MiddlewareHandler[];
  /** Rate limits and idempotency keys: after authentication, since both count per caller. */
  afterAuth: MiddlewareHandler[];
  rateLimiter: RateLimiter | undefined;
}

/**
 * Builds Kai's edge middleware from its settings: CORS from `CORS_ORIGIN`, the body size limit,
 * per-caller rate limits (memory, Redis or Upstash) and `Idempotency-Key` on POSTs.
 */
export function edgeMiddleware(options: EdgeMiddlewareOptions): EdgeMiddleware {
  const settings = options.settings ?? DEFAULT_EDGE_SETTINGS;
  const beforeAuth: MiddlewareHandler[] = [];
  const afterAuth: MiddlewareHandler[] = [];

  const cors = corsFromOrigins(settings.corsOrigins);
  if (cors) beforeAuth.push(cors);
  beforeAuth.push(limitBodySize(settings.bodyLimitBytes));

  let rateLimiter: RateLimiter | undefined;
  if (settings.rateLimit.enabled) {
    const limits = settings.rateLimit;
    rateLimiter =
      options.rateLimiter ??
      createRateLimiter({
        store: limits.store,
        prefix: RATE_LIMIT_KEY_PREFIX,
        timeoutMs: limits.timeoutMs,
        logger: options.logger,
      });
    beforeAuth.push(
      limitAuthFailures({
        limiter: rateLimiter,
        trustProxy: limits.trustProxy,
        policy: { name: 'auth_failures', limit: limits.authFailuresPerMinute, windowMs: MINUTE_MS },
      }),
    );
    afterAuth.push(
      rateLimit({
        limiter: rateLimiter,
        trustProxy: limits.trustProxy,
        policies: {
          default: { name: 'default', limit: limits.perMinute, windowMs: MINUTE_MS },
          submit: { name: 'submit', limit: limits.submitPerMinute, windowMs: MINUTE_MS },
        },
      }),
    );
  }

  afterAuth.push(
    idempotency({ db: options.db, logger: options.logger, ttlMs: settings.idempotencyTtlMs }),
  );

  return { beforeAuth, afterAuth, rateLimiter };
}
