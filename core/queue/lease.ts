import type { Queryable } from '../db/database.ts';

/** A worker's hold on one attempt of a job. */
export interface Lease {
  jobId: string;
  leaseToken: string;
}

/**
 * Renews the leases that are still held, for another `leaseMs` from now, and returns the ids
 * of those renewed. A lease missing from the answer is lost (expired and reclaimed, or the job
 * was settled); its worker must stop, since every further write of that attempt is refused.
 */
export async function renewLeases(
  db: Queryable,
  leases: readonly Lease[],
  leaseMs: number,
): Promise<Set<string>> {
  if (leases.length === 0) return new Set();

  const rows = await db.query<{ id: string }>(
    `update public.jobs j
     set lease_expires_at = now() + $3 * interval '1 millisecond'
     from unnest($1::uuid[], $2::uuid[]) as l(id, token)
     where j.id = l.id and j.lease_token = l.token and j.status = 'running'
       and j.lease_expires_at > now()
     returning j.id`,
    [leases.map((l) => l.jobId), leases.map((l) => l.leaseToken), Math.round(leaseMs)],
  );
  return new Set(rows.map((r) => r.id));
}
