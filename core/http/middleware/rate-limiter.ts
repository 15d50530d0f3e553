/** One named limit: at most `limit` requests per caller within any `windowMs`. */
export interface RateLimitPolicy {
  name: string;
  limit: number;
  windowMs: number;
}

/** What a limiter decided for one request. */
export interface RateLimitDecision {
  allowed: boolean;
  limit: number;
  /** Requests left in the window after this one. */
  remaining: number;
  /** Unix time (ms) by which the caller's window has fully reset. */
  resetAtMs: number;
  /**
   * True when the store did not answer in time or failed and the request was let through
   * unmetered (Kai fails open); the numbers above then mean nothing.
   */
  degraded: boolean;
}

/**
 * Counts requests per key under a policy. Every implementation runs the same algorithm,
 * `@upstash/ratelimit`'s sliding window (the previous fixed window weighted by how much of it
 * still overlaps, plus the current one), so a limit means the same in memory, on a local Redis
 * and on Upstash.
 */
export interface RateLimiter {
  /** Where the counts live, for logs and the readiness of operators' dashboards. */
  readonly store: 'memory' | 'redis' | 'upstash';
  /** Counts one request of `key` and says whether it may pass. Never throws. */
  limit(key: string, policy: RateLimitPolicy): Promise<RateLimitDecision>;
  /** Releases the store's connection, if it has one. */
  close(): Promise<void>;
}
