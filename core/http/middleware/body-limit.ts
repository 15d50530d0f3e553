import type { IncomingMessage } from 'node:http';
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
  const limit = bodyLimit({
    maxSize: maxBytes,
    onError: (c) => problemResponse(c, new PayloadTooLargeError(maxBytes)),
  });

  // Over HTTP/1.1 Node's parser frames the body: without Transfer-Encoding it is exactly
  // Content-Length bytes, or none without either header (RFC 9112, 6.3). Such a body is
  // judged by its header alone, which leaves it unread for the route's fast path on Node
  // (asking for `c.req.raw.body` builds the whole Fetch Request and its stream, the most
  // costly step of a small request). Chunked bodies are counted as they stream; HTTP/2 frames
  // bodies without either header, and elsewhere (Deno) the Request exists already, so those go
  // through Hono's limit.
  return async function limitBody(c, next) {
    if (!isHttp1(c.env) || c.req.header('transfer-encoding') !== undefined) return limit(c, next);
    const length = c.req.header('content-length');
    if (length === undefined) return next();
    const bytes = Number(length);
    if (!Number.isSafeInteger(bytes) || bytes < 0) return limit(c, next);
    if (bytes > maxBytes) return problemResponse(c, new PayloadTooLargeError(maxBytes));
    return next();
  };
}

/** Whether the request came through `@hono/node-server` over HTTP/1.x. */
function isHttp1(env: unknown): boolean {
  const incoming = (env as { incoming?: IncomingMessage } | undefined)?.incoming;
  return incoming?.httpVersionMajor === 1;
}
