import type { Queryable } from '../../db/database.ts';
import { ValidationError } from '../../errors.ts';
import { type Job, type JobRow, type JobStatus, jobFromRow } from '../../queue/job.ts';

/** One job by id, if the caller may see it (run as the caller: RLS decides). */
export async function findJob(tx: Queryable, id: string): Promise<Job | undefined> {
  const [row] = await tx.query<JobRow>('select * from public.jobs where id = $1', [id]);
  return row ? jobFromRow(row) : undefined;
}

/** Filters of `GET /v1/jobs`. */
export interface JobFilters {
  statuses?: JobStatus[] | undefined;
  type?: string | undefined;
  createdAfter?: Date | undefined;
  createdBefore?: Date | undefined;
  limit: number;
  cursor?: string | undefined;
}

/** Where a page ended: the last row's creation time, exact to the microsecond, and id. */
interface Position {
  createdAt: string;
  id: string;
}

/** The exact form `to_char(..., 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')` gives. */
const POSITION_AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function encodeCursor(position: Position): string {
  return Buffer.from(JSON.stringify([position.createdAt, position.id])).toString('base64url');
}

function decodeCursor(cursor: string): Position {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof createdAt === 'string' && POSITION_AT.test(createdAt) && UUID.test(id)) {
      return { createdAt, id };
    }
  } catch {}
  throw new ValidationError('The cursor is not one Kai gave out.', [
    { path: 'query.cursor', message: 'expects the nextCursor of an earlier page' },
  ]);
}

/**
 * A page of the caller's jobs (run as the caller: RLS keeps it to their own), newest first in
 * the stable order (created_at, id) descending, with the cursor of the next page, or null
 * on the last. Cursors carry the exact database timestamp, so no row is skipped or repeated
 * between pages, also for rows created in the same millisecond.
 */
export async function listJobs(
  tx: Queryable,
  filters: JobFilters,
): Promise<{ jobs: Job[]; nextCursor: string | null }> {
  const after = filters.cursor ? decodeCursor(filters.cursor) : undefined;
  const rows = await tx.query<JobRow & { position_at: string }>(
    `select j.*, to_char(j.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
              as position_at
     from public.jobs j
     where ($1::text[] is null or j.status = any($1::text[]))
       and ($2::text is null or j.type = $2)
       and ($3::timestamptz is null or j.created_at >= $3)
       and ($4::timestamptz is null or j.created_at < $4)
       and ($5::timestamptz is null or (j.created_at, j.id) < ($5::timestamptz, $6::uuid))
     order by j.created_at desc, j.id desc
     limit $7`,
    [
      filters.statuses ?? null,
      filters.type ?? null,
      filters.createdAfter?.toISOString() ?? null,
      filters.createdBefore?.toISOString() ?? null,
      after?.createdAt ?? null,
      after?.id ?? null,
      filters.limit + 1,
    ],
  );

  const page = rows.slice(0, filters.limit);
  const last = page.at(-1);
  const nextCursor =
    rows.length > filters.limit && last
      ? encodeCursor({ createdAt: last.position_at, id: last.id })
      : null;
  return { jobs: page.map(jobFromRow), nextCursor };
}
