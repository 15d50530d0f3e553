import type { Queryable } from '../db/database.ts';

/**
 * Deletes jobs that finished (completed, cancelled or dead) more than `retentionDays` ago, at
 * most `batchSize` per call so that a large backlog does not hold long locks. Returns how many
 * went; call again while it returns `batchSize`.
 */
export async function deleteFinishedJobs(
  db: Queryable,
  retentionDays: number,
  batchSize = 5000,
): Promise<number> {
  const rows = await db.query(
    `delete from public.jobs where id in (
       select id from public.jobs
       where status in ('completed', 'cancelled', 'dead')
         and finished_at < now() - $1 * interval '1 day'
       limit $2
     )
     returning id`,
    [retentionDays, batchSize],
  );
  return rows.length;
}
