import type { Queryable } from '../db/database.ts';
import type { JobStatus } from './job.ts';
import type { Lease } from './lease.ts';
import { LeaseLostError } from './queue-errors.ts';

/** The condition every fenced write shares: this attempt's token, on a live lease. */
const HELD = `id = $1 and lease_token = $2 and status = 'running' and lease_expires_at > now()`;

/** How failed attempts are spaced: exponential from `baseMs`, capped at `maxMs`, jittered. */
export interface RetryBackoff {
  baseMs: number;
  maxMs: number;
}

/** What a failed attempt reports; `retryable: false` makes the job dead at once. */
export interface Failure {
  code: string;
  message: string;
  retryable: boolean;
  details?: unknown;
}

/**
 * Completes many held jobs in one statement (`kai.complete_jobs`, which also sends their
 * changes on `kai_jobs`, many to a notification) and returns the ids completed; a job missing
 * from the answer had lost its lease, and its result was not written.
 */
export async function completeJobs(
  db: Queryable,
  completions: readonly { lease: Lease; result: unknown }[],
): Promise<Set<string>> {
  if (completions.length === 0) return new Set();

  // Results go as JSON texts, one array element each: cheaper for the server to take apart
  // than one JSON document of every completion. No result is SQL null, as `completeJob` has it.
  const rows = await db.query<{ id: string }>(
    'select id from kai.complete_jobs($1::uuid[], $2::uuid[], $3::text[]) as id',
    [
      completions.map((c) => c.lease.jobId),
      completions.map((c) => c.lease.leaseToken),
      completions.map((c) => (c.result == null ? null : JSON.stringify(c.result))),
    ],
  );
  return new Set(rows.map((r) => r.id));
}

/** Completes a held job with its result; throws `LeaseLostError` when the lease is gone. */
export async function completeJob(db: Queryable, lease: Lease, result: unknown): Promise<void> {
  const rows = await db.query(
    `update public.jobs set
       status = 'completed', result = $3::jsonb, error = null, progress = 100,
       finished_at = now(), lease_token = null, lease_expires_at = null
     where ${HELD}
     returning id`,
    [lease.jobId, lease.leaseToken, result ?? null],
  );
  if (rows.length === 0) throw new LeaseLostError(lease.jobId);
}

/**
 * Records a failed attempt of a held job, in one statement: `failed` with a retry while
 * attempts are left and the failure is retryable, `dead` otherwise; `cancelled` when a
 * cancellation was asked for. The retry waits `baseMs * 2^(attempt - 1)`, capped at `maxMs` and
 * drawn from its upper half ("equal jitter"), so jobs failing together do not retry together.
 * Returns the status the job now has; throws `LeaseLostError` when the lease is gone.
 */
export async function failJob(
  db: Queryable,
  lease: Lease,
  failure: Failure,
  backoff: RetryBackoff,
): Promise<JobStatus> {
  const error = { code: failure.code, message: failure.message, details: failure.details ?? null };

  const [row] = await db.query<{ status: JobStatus }>(
    `with decided as (
       select id, case
         when cancel_requested_at is not null then 'cancelled'
         when $4::boolean and attempts < max_attempts then 'failed'
         else 'dead'
       end as next_status
       from public.jobs where ${HELD}
     )
     update public.jobs j set
       status = d.next_status,
       error = $3::jsonb,
       run_at = case when d.next_status = 'failed' then now() + interval '1 millisecond'
         * least($6::float8, $5::float8 * power(2, greatest(j.attempts - 1, 0)))
         * (0.5 + random() / 2) else j.run_at end,
       finished_at = case when d.next_status = 'failed' then null else now() end,
       lease_token = null, lease_expires_at = null
     from decided d
     where j.id = d.id and j.lease_token = $2 and j.status = 'running'
     returning j.status`,
    [lease.jobId, lease.leaseToken, error, failure.retryable, backoff.baseMs, backoff.maxMs],
  );
  if (!row) throw new LeaseLostError(lease.jobId);
  return row.status;
}

/** Ends a held job as cancelled, after its handler stopped on a cancellation request. */
export async function markCancelled(db: Queryable, lease: Lease): Promise<void> {
  const rows = await db.query(
    `update public.jobs set
       status = 'cancelled', finished_at = now(), lease_token = null, lease_expires_at = null
     where ${HELD}
     returning id`,
    [lease.jobId, lease.leaseToken],
  );
  if (rows.length === 0) throw new LeaseLostError(lease.jobId);
}

/**
 * Puts claimed jobs that never started back in the queue, as they were, without counting the
 * attempt: what a draining pool does with work it took but will not run.
 */
export async function releaseJobs(db: Queryable, leases: readonly Lease[]): Promise<number> {
  if (leases.length === 0) return 0;

  const rows = await db.query(
    `update public.jobs j set
       status = 'queued', attempts = j.attempts - 1, started_at = null,
       lease_token = null, lease_expires_at = null, worker_id = null
     from unnest($1::uuid[], $2::uuid[]) as l(id, token)
     where j.id = l.id and j.lease_token = l.token and j.status = 'running'
     returning j.id`,
    [leases.map((l) => l.jobId), leases.map((l) => l.leaseToken)],
  );
  return rows.length;
}

/** Reports progress (0-100) and a message for a held job; throws when the lease is gone. */
export async function reportProgress(
  db: Queryable,
  lease: Lease,
  progress: number,
  message: string | null = null,
): Promise<void> {
  const rows = await db.query(
    `update public.jobs set progress = $3, progress_message = $4 where ${HELD} returning id`,
    [lease.jobId, lease.leaseToken, Math.max(0, Math.min(100, Math.round(progress))), message],
  );
  if (rows.length === 0) throw new LeaseLostError(lease.jobId);
}
