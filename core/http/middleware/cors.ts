import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';

/** Request headers a browser may send to Kai. */
const ALLOWED_HEADERS = [
  'Authorization',
  'Content-Type',
  'Idempotency-Key',
  'X-Request-Id',
  'Last-Event-ID',
];

/** Response headers a browser script may read. */
const EXPOSED_HEADERS = [
  'X-Request-Id',
  'Location',
  'Retry-After',
  'RateLimit-Limit',
  'RateLimit-Remaining',
  'RateLimit-Reset',
  'RateLimit-Policy',
  'Idempotent-Replayed',
];

/** Browsers may cache a preflight answer this long. */
const PREFLIGHT_MAX_AGE_SECONDS = 600;

/**
 * CORS for the origins of `CORS_ORIGIN` (a list; `*` allows every origin). An origin not in
 * the list gets no `Access-Control-Allow-Origin`, so the browser keeps the response from the
 * page. Credentials (cookies) are not allowed: Kai authenticates with bearer tokens. Without
 * origins there is no CORS at all (undefined): only same-origin pages and servers call Kai.
 */
export function corsFromOrigins(origins: readonly string[]): MiddlewareHandler | undefined {
  if (origins.length === 0) return undefined;
  const allowed = new Set(origins);

  return cors({
    origin: allowed.has('*') ? '*' : (origin) => (allowed.has(origin) ? origin : null),
    allowMethods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowHeaders: ALLOWED_HEADERS,
    exposeHeaders: EXPOSED_HEADERS,
    maxAge: PREFLIGHT_MAX_AGE_SECONDS,
    credentials: false,
  });
}
