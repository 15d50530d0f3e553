import type { Queryable } from '../db/database.ts';
import type { JobStatus } from './job.ts';

/**
 * Cancels a job: a waiting one (`queued`, `failed`) becomes `cancelled` at once; for a running
 * one the cancellation is recorded, the pool hears of it and fires the handler's AbortSignal,
 * and the job ends `cancelled` when the handler stops. Returns the job's status after the call,
 * or undefined when there is no such job.
 */
export async function cancelJob(db: Queryable, jobId: string): Promise<JobStatus | undefined> {
  const [row] = await db.query<{ status: JobStatus }>(
    `update public.jobs set
       status = case when status in ('queued', 'failed') then 'cancelled' else status end,
       finished_at = case when status in ('queued', 'failed') then now() else finished_at end,
       cancel_requested_at = case when status = 'running' then coalesce(cancel_requested_at, now())
                                  else cancel_requested_at end
     where id = $1
     returning status`,
    [jobId],
  );
  return row?.status;
}
