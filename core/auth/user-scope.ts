import type { Database, Queryable, Statement } from '../db/database.ts';
import type { Auth } from './caller.ts';

/** `claimsOf` of the callers that cannot change (frozen, as `authenticate` makes them). */
const frozenClaims = new WeakMap<Auth, string>();

/**
 * The claims Postgres sees for `auth`: its own, with `sub` and the role pinned. Computed once
 * for a frozen caller; the same string each time also spares the maps that group work by
 * caller from hashing it anew.
 */
export function claimsOf(auth: Auth): string {
  const known = frozenClaims.get(auth);
  if (known !== undefined) return known;
  const claims = JSON.stringify({ ...auth.claims, sub: auth.subject, role: 'authenticated' });
  if (Object.isFrozen(auth) && Object.isFrozen(auth.claims)) frozenClaims.set(auth, claims);
  return claims;
}

/**
 * Runs `work(tx)` in a transaction as the Postgres role `authenticated` with the caller's
 * claims in `request.jwt.claims`, as PostgREST does for Supabase. Row level security is then
 * the guard: `auth.uid()` is `auth.subject`, and the caller reads and writes only what the
 * policies grant. Committed when `work` resolves, rolled back when it throws.
 */
export function asCaller<T>(
  db: Database,
  auth: Auth,
  work: (tx: Queryable) => Promise<T>,
): Promise<T> {
  const claims = claimsOf(auth);
  return db.transaction(async (tx) => {
    // Not awaited before `work` starts: on the server driver the work's first statement
    // follows it down the same connection without a round trip between them, and runs after
    // it. Should it fail, the transaction is aborted and every later statement of `work` fails
    // too.
    const [, result] = await Promise.all([scopeToCaller(tx, claims), work(tx)]);
    return result;
  });
}

/**
 * Makes the rest of the transaction `tx` run as the caller whose claims (`claimsOf`) are
 * given: the claims, the mark that the API itself writes (users may not write straight through
 * PostgREST) and the role `authenticated`, all local to the transaction, in one statement. It
 * may be called again in the same transaction for another caller.
 */
export async function scopeToCaller(tx: Queryable, claims: string): Promise<void> {
  const { text, params } = callerScope(claims);
  await tx.query(text, params);
}

/** `scopeToCaller`'s statement, for `Database.batch`. */
export function callerScope(claims: string): Statement {
  return {
    text: `select set_config('request.jwt.claims', $1, true), set_config('kai.via_api', 'on', true),
                  set_config('role', 'authenticated', true)`,
    params: [claims],
  };
}

/**
 * A `Queryable` whose every statement runs as `auth` (`asCaller`), each in a transaction of its
 * own: for a few reads under RLS outside any transaction of the caller's.
 */
export function callerQueryable(db: Database, auth: Auth): Queryable {
  return {
    query: (text, params) => asCaller(db, auth, (tx) => tx.query(text, params)),
    exec: (script) => asCaller(db, auth, (tx) => tx.exec(script)),
  };
}
