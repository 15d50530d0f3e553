import { randomUUID } from 'node:crypto';
import type { Queryable } from '../../db/database.ts';

/** A response as stored for replay. */
export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  /** The body's bytes, base64. */
  bodyBase64: string;
}

/** What claiming a key found. */
export type KeyClaim =
  /** The key is this request's now: run it, then `complete` or `release`. */
  | { outcome: 'claimed'; lockToken: string }
  /** The first request with this key finished: answer with its response. */
  | { outcome: 'completed'; fingerprint: string; response: StoredResponse }
  /** The first request with this key still runs. */
  | { outcome: 'in_progress'; fingerprint: string };

export interface ClaimRequest {
  caller: string;
  key: string;
  fingerprint: string;
  method: string;
  path: string;
  ttlMs: number;
  /** An in-progress key older than this may be taken over by the same request. */
  staleLockMs: number;
}

interface KeyRow {
  fingerprint: string;
  state: 'in_progress' | 'completed';
  response_status: number | null;
  response_headers: Record<string, string> | null;
  response_body: string | null;
}

/**
 * Takes `key` for this request, or says why not. One statement does it atomically, so of two
 * concurrent requests exactly one claims. A key past its expiry counts as absent, and one left
 * in progress for longer than `staleLockMs` (its request died) is taken over, but only by the
 * same request (same fingerprint).
 */
export async function claimIdempotencyKey(db: Queryable, request: ClaimRequest): Promise<KeyClaim> {
  const lockToken = randomUUID();

  // A key deleted between the two statements (its request failed) is claimed on the next turn.
  for (let attempt = 0; attempt < 3; attempt++) {
    const claimed = await db.query(
      `insert into kai.idempotency_keys
         (caller, key, fingerprint, method, path, lock_token, expires_at)
       values ($1, $2, $3, $4, $5, $6, now() + $7 * interval '1 millisecond')
       on conflict (caller, key) do update set
         fingerprint = excluded.fingerprint, method = excluded.method, path = excluded.path,
         state = 'in_progress', response_status = null, response_headers = null,
         response_body = null, lock_token = excluded.lock_token, created_at = now(),
         locked_at = now(), expires_at = excluded.expires_at
       where kai.idempotency_keys.expires_at <= now()
          or (kai.idempotency_keys.state = 'in_progress'
              and kai.idempotency_keys.fingerprint = excluded.fingerprint
              and kai.idempotency_keys.locked_at <= now() - $8 * interval '1 millisecond')
       returning lock_token`,
      [
        request.caller,
        request.key,
        request.fingerprint,
        request.method,
        request.path,
        lockToken,
        request.ttlMs,
        request.staleLockMs,
      ],
    );
    if (claimed.length > 0) return { outcome: 'claimed', lockToken };

    const [row] = await db.query<KeyRow>(
      `select fingerprint, state, response_status, response_headers, response_body
       from kai.idempotency_keys
       where caller = $1 and key = $2 and expires_at > now()`,
      [request.caller, request.key],
    );
    if (row === undefined) continue;

    if (row.state === 'in_progress')
      return { outcome: 'in_progress', fingerprint: row.fingerprint };
    return {
      outcome: 'completed',
      fingerprint: row.fingerprint,
      response: {
        status: row.response_status ?? 200,
        headers: row.response_headers ?? {},
        bodyBase64: row.response_body ?? '',
      },
    };
  }

  // Only a key claimed and released three times within this call ends up here.
  return { outcome: 'in_progress', fingerprint: request.fingerprint };
}

/** Stores the response of the request holding `lockToken`; false if it no longer holds it. */
export async function completeIdempotencyKey(
  db: Queryable,
  caller: string,
  key: string,
  lockToken: string,
  response: StoredResponse,
): Promise<boolean> {
  const rows = await db.query(
    `update kai.idempotency_keys
     set state = 'completed', response_status = $4, response_headers = $5, response_body = $6
     where caller = $1 and key = $2 and lock_token = $3 and state = 'in_progress'
     returning key`,
    [caller, key, lockToken, response.status, response.headers, response.bodyBase64],
  );
  return rows.length > 0;
}

/** Frees a key whose request stored nothing (a 5xx, a rejected request), for a retry to use. */
export async function releaseIdempotencyKey(
  db: Queryable,
  caller: string,
  key: string,
  lockToken: string,
): Promise<void> {
  await db.query(
    `delete from kai.idempotency_keys
     where caller = $1 and key = $2 and lock_token = $3 and state = 'in_progress'`,
    [caller, key, lockToken],
  );
}

/**
 * Deletes expired keys, at most `batchSize` per call, and returns how many went. Call again
 * while it returns `batchSize`.
 */
export async function deleteExpiredIdempotencyKeys(
  db: Queryable,
  batchSize = 1000,
): Promise<number> {
  const [row] = await db.query<{ deleted: number }>(
    'select kai.delete_expired_idempotency_keys($1) as deleted',
    [batchSize],
  );
  return row?.deleted ?? 0;
}
