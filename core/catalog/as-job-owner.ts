import type { Database, Queryable } from '../db/database.ts';

/**
 * Runs `work(tx)` in one transaction as the submitter of a job would run it: as the role
 * `authenticated` with `sub` = `ownerId`, so row level security decides what the pool reads on
 * the user's behalf; a job of the service itself (no owner) runs as `service_role`.
 */
export function asJobOwner<T>(
  db: Database,
  ownerId: string | null,
  work: (tx: Queryable) => Promise<T>,
): Promise<T> {
  const role = ownerId === null ? 'service_role' : 'authenticated';
  const claims = ownerId === null ? { role } : { sub: ownerId, role };
  return db.transaction(async (tx) => {
    await tx.query(
      `select set_config('request.jwt.claims', $1, true), set_config('role', $2, true)`,
      [JSON.stringify(claims), role],
    );
    return await work(tx);
  });
}
