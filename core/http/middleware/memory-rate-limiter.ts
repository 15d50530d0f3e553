import type { RateLimitDecision, RateLimiter, RateLimitPolicy } from './rate-limiter.ts';

interface Counter {
  window: number;
  current: number;
  previous: number;
  /** Set once a request is refused: refused until then without counting, as Upstash's cache. */
  blockedUntilMs: number;
}

/** Above this many counters a sweep drops those whose windows have both passed. */
const SWEEP_AT_COUNTERS = 10_000;

/**
 * A rate limiter in this process's memory, for a single Node process without Redis (the
 * embedded default and tests). It computes exactly what `@upstash/ratelimit`'s sliding window
 * script computes in Redis, including the block-until-reset of its ephemeral cache.
 *
 * Limitation: counts are per process; several processes (or serverless instances) each allow
 * the full limit. Set REDIS_URL or the Upstash variables to share them.
 */
export function createMemoryRateLimiter(now: () => number = Date.now): RateLimiter {
  const counters = new Map<string, Counter>();

  const sweep = (nowMs: number) => {
    for (const [key, counter] of counters) {
      const windowMs = Number(key.slice(0, key.indexOf(':')));
      if (counter.window < Math.floor(nowMs / windowMs) - 1 && counter.blockedUntilMs <= nowMs) {
        counters.delete(key);
      }
    }
  };

  return {
    store: 'memory',

    async limit(key: string, policy: RateLimitPolicy): Promise<RateLimitDecision> {
      const nowMs = now();
      const { limit, windowMs } = policy;
      const window = Math.floor(nowMs / windowMs);
      const resetAtMs = (window + 1) * windowMs;
      const counterKey = `${windowMs}:${policy.name}:${key}`;

      let counter = counters.get(counterKey);
      if (counter === undefined) {
        if (counters.size >= SWEEP_AT_COUNTERS) sweep(nowMs);
        counter = { window, current: 0, previous: 0, blockedUntilMs: 0 };
        counters.set(counterKey, counter);
      }
      if (counter.blockedUntilMs > nowMs) {
        return {
          allowed: false,
          limit,
          remaining: 0,
          resetAtMs: counter.blockedUntilMs,
          degraded: false,
        };
      }

      // Roll the windows forward: the current one becomes the previous, or both are stale.
      if (counter.window !== window) {
        counter.previous = counter.window === window - 1 ? counter.current : 0;
        counter.current = 0;
        counter.window = window;
      }

      const overlap = 1 - (nowMs % windowMs) / windowMs;
      const weightedPrevious = Math.floor(overlap * counter.previous);
      if (weightedPrevious + counter.current >= limit) {
        counter.blockedUntilMs = resetAtMs;
        return { allowed: false, limit, remaining: 0, resetAtMs, degraded: false };
      }

      counter.current += 1;
      const remaining = Math.max(0, limit - (counter.current + weightedPrevious));
      return { allowed: true, limit, remaining, resetAtMs, degraded: false };
    },

    async close() {
      counters.clear();
    },
  };
}
