import { Redis } from '@upstash/redis';
import type { Logger } from '../../logging/logger.ts';
import { createMemoryRateLimiter } from './memory-rate-limiter.ts';
import { connectNodeRedisScriptClient } from './node-redis-script-client.ts';
import type { RateLimiter } from './rate-limiter.ts';
import { createUpstashRateLimiter } from './upstash-rate-limiter.ts';

/** Where the rate limiter keeps its counts, as configured. */
export type RateLimitStoreConfig =
  | { kind: 'upstash'; url: string; token: string }
  | { kind: 'redis'; url: string }
  | { kind: 'memory' };

export interface CreateRateLimiterOptions {
  store: RateLimitStoreConfig;
  /** Prefix of every Redis key. */
  prefix: string;
  /** How long a limit check may wait for Redis before the request passes unmetered. */
  timeoutMs: number;
  logger: Logger;
}

/**
 * Builds the configured rate limiter: Upstash over its REST API when `UPSTASH_REDIS_REST_URL`
 * and `UPSTASH_REDIS_REST_TOKEN` are set (serverless), the Redis at `REDIS_URL` otherwise, or
 * this process's memory when neither is. All three run the same sliding window with the same
 * numbers. Connecting to Redis happens in the background; until it succeeds requests pass.
 */
export function createRateLimiter(options: CreateRateLimiterOptions): RateLimiter {
  const { store, prefix, timeoutMs, logger } = options;

  if (store.kind === 'upstash') {
    const redis = new Redis({ url: store.url, token: store.token, enableTelemetry: false });
    return createUpstashRateLimiter({ redis, store: 'upstash', prefix, timeoutMs, logger });
  }

  if (store.kind === 'redis') {
    const connection = connectNodeRedisScriptClient(store.url, logger);
    return createUpstashRateLimiter({
      redis: connection.client,
      store: 'redis',
      prefix,
      timeoutMs,
      logger,
      close: () => connection.close(),
    });
  }

  return createMemoryRateLimiter();
}
