import { createHash, randomBytes } from 'node:crypto';
import type { Queryable } from '../db/database.ts';

/** Every API key starts so; secret scanners and people can tell one at a glance. */
export const API_KEY_PREFIX = 'kai_';

/** 32 random bytes, base64url: 43 characters after the prefix. */
const API_KEY_PATTERN = /^kai_[A-Za-z0-9_-]{43}$/;

/** How many leading characters of a key are kept in clear, to tell keys apart in a list. */
const SHOWN_PREFIX_LENGTH = 12;

/** Last use is written at most this often per key, so a busy key is not a write per request. */
const LAST_USED_RESOLUTION_SEC = 60;

/** An API key as its owner sees it; the secret itself is shown only once, at creation. */
export interface ApiKey {
  id: string;
  ownerId: string;
  name: string;
  /** The first characters of the key, such as `kai_Xk3f9a2b`. */
  prefix: string;
  scopes: string[];
  createdAt: Date;
  lastUsedAt: Date | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
}

interface ApiKeyRow {
  id: string;
  owner_id: string;
  name: string;
  prefix: string;
  scopes: string[];
  created_at: Date;
  last_used_at: Date | null;
  expires_at: Date | null;
  revoked_at: Date | null;
}

const COLUMNS =
  'id, owner_id, name, prefix, scopes, created_at, last_used_at, expires_at, revoked_at';

function apiKeyFromRow(row: ApiKeyRow): ApiKey {
  return {
    id: row.id,
    ownerId: row.owner_id,
    name: row.name,
    prefix: row.prefix,
    scopes: row.scopes,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
  };
}

/** The SHA-256 of a key, hex: all the database ever holds of it. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** True for a string shaped like a Kai API key (it may still be unknown or revoked). */
export function looksLikeApiKey(value: string): boolean {
  return API_KEY_PATTERN.test(value);
}

/**
 * Creates a key for `ownerId` from 32 bytes of the CSPRNG and stores only its hash. Run it as
 * the caller (`asCaller`): RLS lets users insert keys for themselves only. Returns the key
 * and, once, its secret.
 */
export async function createApiKey(
  tx: Queryable,
  input: { ownerId: string; name: string; scopes: readonly string[]; expiresAt?: Date | null },
): Promise<{ apiKey: ApiKey; secret: string }> {
  const secret = `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
  const [row] = await tx.query<ApiKeyRow>(
    `insert into public.api_keys (owner_id, name, prefix, key_hash, scopes, expires_at)
     values ($1, $2, $3, $4, $5::text[], $6)
     returning ${COLUMNS}`,
    [
      input.ownerId,
      input.name,
      secret.slice(0, SHOWN_PREFIX_LENGTH),
      hashApiKey(secret),
      [...new Set(input.scopes)],
      input.expiresAt ?? null,
    ],
  );
  if (!row) throw new Error('Inserting an API key returned no row.');
  return { apiKey: apiKeyFromRow(row), secret };
}

/** The caller's keys, newest first, revoked ones included. Run as the caller. */
export async function listApiKeys(tx: Queryable): Promise<ApiKey[]> {
  const rows = await tx.query<ApiKeyRow>(
    `select ${COLUMNS} from public.api_keys order by created_at desc, id desc`,
  );
  return rows.map(apiKeyFromRow);
}

/**
 * Revokes one of the caller's keys; revoking twice keeps the first time. Run as the caller:
 * another user's key is invisible, so this returns undefined as for a key that does not exist.
 */
export async function revokeApiKey(tx: Queryable, id: string): Promise<ApiKey | undefined> {
  const [row] = await tx.query<ApiKeyRow>(
    `update public.api_keys set revoked_at = coalesce(revoked_at, now())
     where id = $1
     returning ${COLUMNS}`,
    [id],
  );
  return row ? apiKeyFromRow(row) : undefined;
}

/**
 * Finds the live key whose hash matches `key` and records its use (at most once a minute).
 * Runs as the service (the API's own connection): a caller has no session yet. Undefined for
 * an unknown, expired or revoked key. The lookup is by hash through a unique index, so no
 * comparison of secrets happens in this process.
 */
export async function findLiveApiKey(db: Queryable, key: string): Promise<ApiKey | undefined> {
  if (!looksLikeApiKey(key)) return undefined;
  const [row] = await db.query<ApiKeyRow>(
    `with found as (
       select ${COLUMNS} from public.api_keys
       where key_hash = $1 and revoked_at is null and (expires_at is null or expires_at > now())
     ), touched as (
       update public.api_keys k set last_used_at = now()
       from found f
       where k.id = f.id
         and (f.last_used_at is null
              or f.last_used_at < now() - make_interval(secs => $2))
     )
     select * from found`,
    [hashApiKey(key), LAST_USED_RESOLUTION_SEC],
  );
  return row ? apiKeyFromRow(row) : undefined;
}
