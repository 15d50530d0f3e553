import type { Database, Queryable } from '../db/database.ts';
import type { Auth } from './caller.ts';

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
  const claims = { ...auth.claims, sub: auth.subject, role: 'authenticated' };
  return db.transaction(async (tx) => {
    // One round trip: the claims, then the role, both local to this transaction.
    await tx.query(
      `select set_config('request.jwt.claims', $1, true), set_config('role', 'authenticated', true)`,
      [JSON.stringify(claims)],
    );
    return await work(tx);
  });
}
