import { Buffer } from 'node:buffer';
import {
  createHmac,
  createSecretKey,
  type KeyObject,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';

/** The prefix of every Standard Webhooks secret. */
export const SECRET_PREFIX = 'whsec_';

/** The bounds the Standard Webhooks spec puts on a secret's random bytes. */
export const SECRET_MIN_BYTES = 24;
export const SECRET_MAX_BYTES = 64;

/** A new endpoint secret: `whsec_` and the base64 of `bytes` random bytes (24 to 64). */
export function generateWebhookSecret(bytes = 32): string {
  if (!(bytes >= SECRET_MIN_BYTES && bytes <= SECRET_MAX_BYTES)) {
    throw new RangeError(`A webhook secret has ${SECRET_MIN_BYTES} to ${SECRET_MAX_BYTES} bytes.`);
  }
  return `${SECRET_PREFIX}${randomBytes(bytes).toString('base64')}`;
}

/** The key bytes of a `whsec_` secret: the base64 after the prefix, decoded. */
export function secretKey(secret: string): Buffer {
  if (!secret.startsWith(SECRET_PREFIX)) {
    throw new Error('A webhook secret starts with whsec_.');
  }
  const key = Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
  if (key.length < SECRET_MIN_BYTES || key.length > SECRET_MAX_BYTES) {
    throw new Error(`A webhook secret holds ${SECRET_MIN_BYTES} to ${SECRET_MAX_BYTES} bytes.`);
  }
  return key;
}

// HMAC keys made from secrets, so each signature does not decode and import its key again
// (a quarter of a webhook's signing time). Bounded: past the limit the cache starts over.
const MAX_CACHED_KEYS = 1024;
const hmacKeys = new Map<string, KeyObject>();

const hmacKeyOf = (secret: string): KeyObject => {
  let key = hmacKeys.get(secret);
  if (key === undefined) {
    key = createSecretKey(secretKey(secret));
    if (hmacKeys.size >= MAX_CACHED_KEYS) hmacKeys.clear();
    hmacKeys.set(secret, key);
  }
  return key;
};

/** The three headers of a Standard Webhooks message. */
export interface WebhookHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/** One `v1,<base64>` signature: HMAC-SHA256 of `${id}.${timestamp}.${body}` under the key. */
export function signatureOf(
  secret: string,
  msgId: string,
  timestampSeconds: number,
  body: string,
): string {
  const mac = createHmac('sha256', hmacKeyOf(secret))
    .update(`${msgId}.${timestampSeconds}.${body}`)
    .digest('base64');
  return `v1,${mac}`;
}

/**
 * Signs a message per the Standard Webhooks spec with every secret given (during a rotation the
 * new and the previous one), space-separated in `webhook-signature`.
 */
export function signWebhook(
  secrets: readonly string[],
  msgId: string,
  timestampSeconds: number,
  body: string,
): WebhookHeaders {
  return {
    'webhook-id': msgId,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': secrets
      .map((s) => signatureOf(s, msgId, timestampSeconds, body))
      .join(' '),
  };
}

/**
 * Verifies Standard Webhooks headers against a secret in constant time, with a tolerance on the
 * timestamp; what a receiver written in TypeScript would do (the `standardwebhooks` library
 * does the same).
 */
export function verifyWebhook(
  secret: string,
  headers: WebhookHeaders,
  body: string,
  options: { nowSeconds?: number; toleranceSeconds?: number } = {},
): boolean {
  const timestamp = Number(headers['webhook-timestamp']);
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (
    !Number.isInteger(timestamp) ||
    Math.abs(now - timestamp) > (options.toleranceSeconds ?? 300)
  ) {
    return false;
  }

  const expected = Buffer.from(signatureOf(secret, headers['webhook-id'], timestamp, body));
  return headers['webhook-signature'].split(' ').some((candidate) => {
    const given = Buffer.from(candidate);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
