import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Receiver } from '@upstash/qstash';
import { SignJWT } from 'jose';
import { KaiError } from '../errors.ts';

/** The request came without a valid `Upstash-Signature`. */
export class InvalidSignatureError extends KaiError {
  constructor(detail: string) {
    super({ code: 'invalid_signature', status: 401, title: 'Invalid signature', detail });
  }
}

/** QStash's current and next signing keys (`QSTASH_CURRENT_SIGNING_KEY`, `..._NEXT_...`). */
export interface SigningKeys {
  current: string;
  next: string;
}

/** A fresh pair of signing keys in QStash's `sig_` form, for the local transport. */
export function generateSigningKeys(): SigningKeys {
  const key = () => `sig_${randomBytes(21).toString('base64url')}`;
  return { current: key(), next: key() };
}

/**
 * Signs a request the way QStash does: an HS256 JWT with issuer `Upstash`, the destination as
 * subject and the body's SHA-256 (base64url) as claim `body`, valid for five minutes.
 */
export async function signLikeQstash(key: string, destination: string, body: string) {
  const nowSeconds = Math.floor(Date.now() / 1000);
  return await new SignJWT({ body: createHash('sha256').update(body).digest('base64url') })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer('Upstash')
    .setSubject(destination)
    .setIssuedAt(nowSeconds)
    .setNotBefore(nowSeconds)
    .setExpirationTime(nowSeconds + 300)
    .setJti(`jwt_${randomUUID()}`)
    .sign(new TextEncoder().encode(key));
}

/** Verifies `Upstash-Signature` headers with the official Receiver. */
export interface SignatureVerifier {
  /** Throws `InvalidSignatureError` unless the signature is valid for `body` (and `url`). */
  verify(signature: string | undefined, body: string, url?: string): Promise<void>;
}

/** A verifier over the current and next signing keys, as QStash rotates them. */
export function createSignatureVerifier(keys: SigningKeys): SignatureVerifier {
  const receiver = new Receiver({
    currentSigningKey: keys.current,
    nextSigningKey: keys.next,
    devMode: false,
  });

  return {
    async verify(signature, body, url) {
      if (!signature) throw new InvalidSignatureError('The request has no Upstash-Signature.');
      let valid = false;
      try {
        valid = await receiver.verify({
          signature,
          body,
          ...(url === undefined ? {} : { url }),
          clockTolerance: 5,
        });
      } catch (error) {
        throw new InvalidSignatureError(
          `The Upstash-Signature does not verify: ${(error as Error).message}`,
        );
      }
      if (!valid) throw new InvalidSignatureError('The Upstash-Signature does not verify.');
    },
  };
}
