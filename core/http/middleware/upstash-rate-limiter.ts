import { Ratelimit } from '@upstash/ratelimit';
import type { Redis } from '@upstash/redis';
import type { Logger } from '../../logging/logger.ts';
import type { RateLimitDecision, RateLimiter, RateLimitPolicy } from './rate-limiter.ts';

/**
 * The part of the Upstash Redis client that `@upstash/ratelimit`'s single-region sliding window
 * uses: scripts by hash, and by text when Redis does not know the hash yet. `@upstash/redis`
 * has it, and so does the node-redis adapter for a local Redis.
 */
export type UpstashScriptClient = Pick<Redis, 'eval' | 'evalsha'>;

export interface UpstashRateLimiterOptions {
  redis: UpstashScriptClient;
  store: 'redis' | 'upstash';
  /** Prefix of every Redis key, so that several deployments (or test runs) can share a Redis. */
  prefix: string;
  /** How long to wait for Redis before letting the request through unmetered. */
  timeoutMs: number;
  logger: Logger;
  /** Releases the client's connection. */
  close?: () => Promise<void>;
}

/** At most one warning per this interval while Redis keeps failing, so logs stay readable. */
const WARN_INTERVAL_MS = 30_000;

/**
 * A rate limiter that runs the real `@upstash/ratelimit` sliding window against Redis: Upstash
 * over its REST API in serverless, or any Redis through an adapter. When Redis fails or does
 * not answer within `timeoutMs`, the request passes (fail open, as Upstash's own timeout,
 * Envoy's and Kong's limiters do): an outage of the limiter must not become an outage of the
 * API. Each such request is `degraded` and a warning is logged at most every 30 s.
 */
export function createUpstashRateLimiter(options: UpstashRateLimiterOptions): RateLimiter {
  const limiters = new Map<string, Ratelimit>();
  let lastWarnAtMs = 0;

  const limiterFor = (policy: RateLimitPolicy): Ratelimit => {
    const id = `${policy.name}:${policy.limit}:${policy.windowMs}`;
    let limiter = limiters.get(id);
    if (limiter === undefined) {
      limiter = new Ratelimit({
        redis: options.redis as Redis,
        limiter: Ratelimit.slidingWindow(policy.limit, `${policy.windowMs} ms`),
        prefix: `${options.prefix}:${policy.name}`,
        timeout: options.timeoutMs,
        analytics: false,
      });
      limiters.set(id, limiter);
    }
    return limiter;
  };

  const degraded = (policy: RateLimitPolicy, reason: string, error?: unknown) => {
    const nowMs = Date.now();
    if (nowMs - lastWarnAtMs >= WARN_INTERVAL_MS) {
      lastWarnAtMs = nowMs;
      options.logger.warn(
        { err: error, store: options.store, policy: policy.name, reason },
        'rate limit store unavailable; requests pass unmetered',
      );
    }
    return {
      allowed: true,
      limit: policy.limit,
      remaining: policy.limit,
      resetAtMs: nowMs + policy.windowMs,
      degraded: true,
    };
  };

  return {
    store: options.store,

    async limit(key: string, policy: RateLimitPolicy): Promise<RateLimitDecision> {
      try {
        const result = await limiterFor(policy).limit(key);
        if (result.reason === 'timeout') return degraded(policy, 'timeout');
        return {
          allowed: result.success,
          limit: result.limit,
          remaining: result.remaining,
          resetAtMs: result.reset,
          degraded: false,
        };
      } catch (error) {
        return degraded(policy, 'error', error);
      }
    },

    async close() {
      await options.close?.();
    },
  };
}
