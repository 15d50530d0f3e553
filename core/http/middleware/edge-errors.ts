import { KaiError } from '../../errors.ts';

/** Too many requests from one caller within the policy's window (429 `rate_limited`). */
export class RateLimitedError extends KaiError {
  constructor(policy: string, limit: number, windowMs: number, retryAfterSeconds: number) {
    super(
      {
        code: 'rate_limited',
        status: 429,
        title: 'Too many requests',
        detail:
          `This caller made more than ${limit} requests in ${windowMs / 1000} s under the ` +
          `${policy} limit. Retry after ${retryAfterSeconds} s.`,
      },
      { extensions: { policy, limit, windowMs, retryAfterSeconds } },
    );
  }
}

/** A request body over the configured limit (413 `payload_too_large`). */
export class PayloadTooLargeError extends KaiError {
  constructor(limitBytes: number) {
    super(
      {
        code: 'payload_too_large',
        status: 413,
        title: 'Payload too large',
        detail:
          `The request body is larger than ${limitBytes} bytes, the most this API takes. ` +
          'Send a smaller body, or upload the file and pass its URL.',
      },
      { extensions: { limitBytes } },
    );
  }
}

/** An `Idempotency-Key` header that is empty, too long or not printable ASCII (400). */
export class InvalidIdempotencyKeyError extends KaiError {
  constructor(detail: string) {
    super({
      code: 'idempotency_key_invalid',
      status: 400,
      title: 'Invalid idempotency key',
      detail,
    });
  }
}

/** The same idempotency key sent again with another method, path or body (422). */
export class IdempotencyKeyReusedError extends KaiError {
  constructor() {
    super({
      code: 'idempotency_key_reused',
      status: 422,
      title: 'Idempotency key reused',
      detail:
        'This Idempotency-Key was already used with a different request (method, path or ' +
        'body). Use a new key for a new request.',
    });
  }
}

/** The first request with this idempotency key has not finished yet (409). */
export class IdempotencyKeyInProgressError extends KaiError {
  constructor() {
    super({
      code: 'idempotency_key_in_progress',
      status: 409,
      title: 'Idempotency key in progress',
      detail:
        'A request with this Idempotency-Key is still being processed. Retry once it has ' +
        'finished to receive its response.',
    });
  }
}
