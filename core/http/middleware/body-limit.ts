import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { problemResponse } from '../problem.ts';
import { PayloadTooLargeError } from './edge-errors.ts';

/**
 * Refuses request bodies over `maxBytes` with 413 `payload_too_large` (problem+json): at once
 * when `Content-Length` says so, else as soon as the streamed body passes the limit, before
 * any route reads it.
 */
export function limitBodySize(maxBytes: number): MiddlewareHandler {
  return bodyLimit({
    maxSize: maxBytes,
    onError: (c) => problemResponse(c, new PayloadTooLargeError(maxBytes)),
  });
}
