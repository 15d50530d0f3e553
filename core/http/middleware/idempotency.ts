import { createHash } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import type { ContentfulStatusCode, StatusCode } from 'hono/utils/http-status';
import type { Auth } from '../../auth/caller.ts';
import type { Database } from '../../db/database.ts';
import { DatabaseUnavailableError, KaiError } from '../../errors.ts';
import type { Logger } from '../../logging/logger.ts';
import {
  IdempotencyKeyInProgressError,
  IdempotencyKeyReusedError,
  InvalidIdempotencyKeyError,
} from './edge-errors.ts';
import {
  claimIdempotencyKey,
  completeIdempotencyKey,
  deleteExpiredIdempotencyKeys,
  releaseIdempotencyKey,
  type StoredResponse,
} from './idempotency-store.ts';

const SECOND = 1000;
const MINUTE = 60 * SECOND;

export interface IdempotencyOptions {
  db: Database;
  logger: Logger;
  /** How long a key and its response are kept (`IDEMPOTENCY_KEY_TTL_MS`, 24 h). */
  ttlMs: number;
  /**
   * How long a key may stay in progress before another try of the same request takes it over,
   * for a request whose process died. @default 2 minutes
   */
  staleLockMs?: number;
  /** How often this process deletes expired keys. @default 1 minute */
  sweepIntervalMs?: number;
}

/** The header, as Stripe and draft-ietf-httpapi-idempotency-key-header name it. */
const HEADER = 'idempotency-key';
const MAX_KEY_LENGTH = 255;
/** Printable ASCII without spaces at the ends: UUIDs, ULIDs and the like. */
const KEY_PATTERN = /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/;

/** Response headers worth replaying; the rest (request id, rate limits) belong to each try. */
const STORED_HEADERS = ['content-type', 'location', 'content-location', 'etag', 'last-modified'];

/**
 * Statuses of requests refused before any work began (bad syntax, credentials, validation,
 * size, rate): like Stripe, Kai does not keep them, so a corrected retry may reuse the key.
 */
const NOT_STORED_STATUSES = new Set([400, 401, 403, 408, 409, 413, 415, 422, 429]);

/**
 * Paths whose responses carry a secret shown once (a new API key): never kept at rest in plain
 * text, whatever the route's headers say. Routes should also send `Cache-Control: no-store`.
 */
const SECRET_PATHS = [/^\/v1\/api-keys\/?$/];

/** Responses larger than this are not kept; their keys are released. */
const MAX_STORED_BODY_BYTES = 1024 * 1024;

/**
 * `Idempotency-Key` on POST requests of authenticated callers, as Stripe has it:
 *
 * - the first request with a key runs and its response (status, the headers above and the
 *   body) is kept for `ttlMs`; a retry with the same key and the same request (method, path
 *   with query, caller, body hash) gets that response again with `Idempotent-Replayed: true`;
 * - the same key with another request is a 422 `idempotency_key_reused`;
 * - a retry while the first request still runs is a 409 `idempotency_key_in_progress`;
 * - a 5xx, a request refused before work began (see `NOT_STORED_STATUSES`) or a response
 *   marked `Cache-Control: no-store` (one carrying a secret) keeps nothing: the key is
 *   released for the next try.
 *
 * Keys are scoped per caller (the authenticated subject); requests without a caller or a key
 * pass through untouched. Mount it after authentication.
 */
export function idempotency(options: IdempotencyOptions): MiddlewareHandler {
  const staleLockMs = options.staleLockMs ?? 2 * MINUTE;
  const sweepIntervalMs = options.sweepIntervalMs ?? MINUTE;
  let lastSweepAtMs = 0;

  const sweepExpired = () => {
    const nowMs = Date.now();
    if (nowMs - lastSweepAtMs < sweepIntervalMs) return;
    lastSweepAtMs = nowMs;
    deleteExpiredIdempotencyKeys(options.db).then(
      (deleted) => {
        if (deleted > 0) options.logger.debug({ deleted }, 'expired idempotency keys deleted');
      },
      (error: unknown) => options.logger.warn({ err: error }, 'idempotency key sweep failed'),
    );
  };

  return async function idempotencyMiddleware(c, next) {
    const key = c.req.header(HEADER);
    const auth = c.get('auth') as Auth | undefined;
    if (c.req.method !== 'POST' || key === undefined || !auth) return next();
    checkKey(key);

    // The body is read once here and put back, so the route reads it as if untouched.
    let body = new Uint8Array(0);
    if (c.req.raw.body !== null) {
      body = new Uint8Array(await c.req.raw.arrayBuffer());
      c.req.raw = new Request(c.req.raw, { body });
    }

    const url = new URL(c.req.url);
    const path = `${url.pathname}${url.search}`;
    const caller = auth.subject;
    const fingerprint = fingerprintOf(c.req.method, path, caller, body);

    const claim = await guarded(() =>
      claimIdempotencyKey(options.db, {
        caller,
        key,
        fingerprint,
        method: c.req.method,
        path,
        ttlMs: options.ttlMs,
        staleLockMs,
      }),
    );
    sweepExpired();

    if (claim.outcome !== 'claimed') {
      if (claim.fingerprint !== fingerprint) throw new IdempotencyKeyReusedError();
      if (claim.outcome === 'in_progress') throw new IdempotencyKeyInProgressError();
      return replay(c, claim.response);
    }

    await next();

    const logger = (c.get('logger') as Logger | undefined) ?? options.logger;
    const keepsSecret = SECRET_PATHS.some((pattern) => pattern.test(url.pathname));
    const stored = keepsSecret ? undefined : await storable(c.res);
    try {
      if (stored === undefined) {
        await releaseIdempotencyKey(options.db, caller, key, claim.lockToken);
      } else if (
        !(await completeIdempotencyKey(options.db, caller, key, claim.lockToken, stored))
      ) {
        logger.warn({ status: c.res.status }, 'idempotency key was taken over before completion');
      }
    } catch (error) {
      // The work is done and its response goes out; only a retry would miss the replay.
      logger.error({ err: error }, 'idempotent response could not be stored');
    }
  };
}

/** Refuses keys that are empty, too long or not printable ASCII. */
function checkKey(key: string): void {
  if (key.length === 0 || key.length > MAX_KEY_LENGTH || !KEY_PATTERN.test(key)) {
    throw new InvalidIdempotencyKeyError(
      `The Idempotency-Key header must be 1 to ${MAX_KEY_LENGTH} printable ASCII characters, ` +
        'such as a UUID. Send a new one for each new request.',
    );
  }
}

/** SHA-256 over the method, the path with its query, the caller and the body's own hash. */
function fingerprintOf(method: string, path: string, caller: string, body: Uint8Array): string {
  const bodyHash = createHash('sha256').update(body).digest('hex');
  return createHash('sha256')
    .update(JSON.stringify([method, path, caller, bodyHash]))
    .digest('hex');
}

/** The response as it will be kept, or undefined when it is not to be kept. */
async function storable(response: Response): Promise<StoredResponse | undefined> {
  if (response.status >= 500 || NOT_STORED_STATUSES.has(response.status)) return undefined;
  // A response that must not be kept (a new API key's secret) is not kept here either.
  if (/\bno-store\b/i.test(response.headers.get('cache-control') ?? '')) return undefined;
  // A stream is not waited for: it would hold the response back until it ends.
  if (/^text\/event-stream/i.test(response.headers.get('content-type') ?? '')) return undefined;

  const bytes = Buffer.from(await response.clone().arrayBuffer());
  // Limitation: an oversized response is not replayable; a retry runs the request again.
  if (bytes.byteLength > MAX_STORED_BODY_BYTES) return undefined;

  const headers: Record<string, string> = {};
  for (const name of STORED_HEADERS) {
    const value = response.headers.get(name);
    if (value !== null) headers[name] = value;
  }
  return { status: response.status, headers, bodyBase64: bytes.toString('base64') };
}

/** Answers with a stored response, marked as a replay. */
function replay(c: Context, stored: StoredResponse): Response {
  for (const [name, value] of Object.entries(stored.headers)) c.header(name, value);
  c.header('Idempotent-Replayed', 'true');
  const body = new Uint8Array(Buffer.from(stored.bodyBase64, 'base64'));
  if (body.byteLength === 0) return c.body(null, stored.status as StatusCode);
  return c.body(body, stored.status as ContentfulStatusCode);
}

/** Store failures are a 503 the caller may retry, never a 500. */
async function guarded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof KaiError) throw error;
    throw new DatabaseUnavailableError(
      'The idempotency key store did not answer; retry the request with the same key.',
      error,
    );
  }
}
