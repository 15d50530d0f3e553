import type { Queryable } from '../db/database.ts';
import { type ClaimedJob, type ClaimedJobRow, claimedJobFromRow } from './job.ts';

export interface ClaimOptions {
  workerId: string;
  /** The job types this worker has handlers for. */
  types: readonly string[];
  /** At most this many jobs, all of one class and one model. */
  limit: number;
  /** How long the lease lasts unless renewed by a heartbeat. */
  leaseMs: number;
}

/**
 * Claims ready jobs for a worker with `FOR UPDATE SKIP LOCKED`: one class, chosen by weight
 * among the classes that have work and room under their global concurrency, and one model, so
 * the worker can run them as a batch. Expired leases are reclaimed first. Each job comes back
 * with a fresh lease token that fences this attempt's later writes, and with what its worker
 * needs to run it; the rest of the row (results and errors of earlier attempts, timestamps) is
 * not sent.
 */
export async function claimJobs(db: Queryable, options: ClaimOptions): Promise<ClaimedJob[]> {
  if (options.types.length === 0 || options.limit <= 0) return [];

  const rows = await db.query<ClaimedJobRow>(
    'select * from kai.claim_jobs($1, $2::text[], $3, $4)',
    [options.workerId, options.types, options.limit, Math.round(options.leaseMs)],
  );
  return rows.map(claimedJobFromRow);
}
