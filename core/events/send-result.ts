import type { OutboundResponse } from '../net/guarded-http.ts';
import { OutboundRequestError } from '../net/guarded-http.ts';
import { retryAfterMs } from './delivery-transport.ts';

/** What one attempt of one delivery came to. */
export interface SendResult {
  ok: boolean;
  statusCode: number | null;
  error: string | null;
  responseExcerpt: string | null;
  durationMs: number;
  /** Whether another attempt could succeed. */
  retryable: boolean;
  /** The destination asked for this much patience (`Retry-After`). */
  retryAfterMs?: number;
  /** The destination is gone for good (a webhook's 410, an expired push subscription). */
  gone?: boolean;
}

/** The most a `Retry-After` may postpone a retry. */
export const MAX_RETRY_AFTER_MS = 24 * 60 * 60 * 1000;

/**
 * Judges a response: 2xx is success; 3xx is a failure (redirects are not followed); 408, 429
 * and 5xx are retryable; `goneStatuses` mark the destination gone; other 4xx are retryable only
 * when `retry4xx` (webhook receivers may be fixed, so they are retried).
 */
export function resultOfResponse(
  response: OutboundResponse,
  options: { goneStatuses?: readonly number[]; retry4xx?: boolean } = {},
): SendResult {
  const status = response.status;
  const ok = status >= 200 && status < 300;
  const gone = options.goneStatuses?.includes(status) ?? false;
  const retryAfter = retryAfterMs(
    response.headers.get('retry-after'),
    Date.now(),
    MAX_RETRY_AFTER_MS,
  );
  const transient = status === 408 || status === 429 || status >= 500;
  const error = ok
    ? null
    : status >= 300 && status < 400
      ? `The destination answered ${status} (a redirect, which Kai does not follow).`
      : `The destination answered ${status}.`;

  return {
    ok,
    statusCode: status,
    error,
    responseExcerpt: response.body,
    durationMs: response.durationMs,
    retryable: !ok && !gone && (transient || (options.retry4xx ?? false) || status < 400),
    ...(retryAfter === undefined || ok ? {} : { retryAfterMs: retryAfter }),
    ...(gone ? { gone } : {}),
  };
}

/** Judges a request that got no response: refused by the SSRF guard (final) or failed. */
export function resultOfError(error: unknown): SendResult {
  if (error instanceof OutboundRequestError) {
    return {
      ok: false,
      statusCode: null,
      error: error.message,
      responseExcerpt: null,
      durationMs: error.durationMs,
      retryable: error.kind !== 'refused',
    };
  }
  return {
    ok: false,
    statusCode: null,
    error: (error as Error).message ?? String(error),
    responseExcerpt: null,
    durationMs: 0,
    retryable: true,
  };
}
