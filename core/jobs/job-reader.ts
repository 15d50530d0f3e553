import type { Auth } from '../auth/caller.ts';
import { claimsOf } from '../auth/user-scope.ts';
import type { Database } from '../db/database.ts';
import { StatementBatcher } from '../events/statement-batcher.ts';
import { type Job, type JobRow, jobFromRow } from '../queue/job.ts';

/** Reads jobs by id as their callers: the read clients poll. */
export interface JobReader {
  /** The job `id` as `auth` sees it under RLS, or undefined when the caller has no such job. */
  find(auth: Auth, id: string): Promise<Job | undefined>;
}

export interface JobReaderOptions {
  /** Reads out at once; the reads asked meanwhile share the next round trip. */
  maxInFlight?: number | undefined;
  /** The most reads in one round trip. */
  maxBatch?: number | undefined;
}

/**
 * One job by id as a caller sees it, in one statement: `$1` the caller's claims (`claimsOf`),
 * `$2` the id. The function sets the claims and role, reads under RLS and puts both back.
 */
export const FIND_JOB_AS_CALLER = 'select * from kai.find_job_as_caller($1, $2)';

/** `FIND_JOB_AS_CALLER` for several ids of one caller: `$2` the ids, as `uuid[]`. */
const FIND_JOBS_AS_CALLER = 'select * from kai.find_jobs_as_caller($1, $2::uuid[])';

interface Lookup {
  claims: string;
  id: string;
}

/** A read that failed on its own (a job row has an `error` column, so not a plain object). */
class ReadFailure {
  readonly cause: unknown;
  constructor(cause: unknown) {
    this.cause = cause;
  }
}

type Found = JobRow | undefined | ReadFailure;

/**
 * The reads of one turn of the event loop go to the database together, as DataLoader gathers
 * the loads of a tick: per caller, one `kai.find_jobs_as_caller` statement for all of that
 * caller's ids, under its own claims, so RLS decides each read; the callers' statements go as
 * one batch in one round trip instead of one write (and one wake-up of a server process) and
 * one switch of claims and role per read. A lone read waits only for the end of the turn.
 *
 * Should a batch fail, each read is tried on its own, so one read's error stays its own.
 */
export function createJobReader(db: Database, options: JobReaderOptions = {}): JobReader {
  const readOne = (lookup: Lookup): Promise<Found> =>
    db.query<JobRow>(FIND_JOB_AS_CALLER, [lookup.claims, lookup.id]).then(
      ([row]) => row,
      (error: unknown) => new ReadFailure(error),
    );

  const readMany = async (lookups: readonly Lookup[]): Promise<Found[]> => {
    const idsByCaller = new Map<string, string[]>();
    for (const { claims, id } of lookups) {
      const ids = idsByCaller.get(claims);
      if (ids) ids.push(id);
      else idsByCaller.set(claims, [id]);
    }
    const statements = [...idsByCaller].map(([claims, ids]) => ({
      text: FIND_JOBS_AS_CALLER,
      params: [claims, [...new Set(ids)]],
    }));
    const results =
      statements.length === 1
        ? [await db.query(FIND_JOBS_AS_CALLER, statements[0]?.params)]
        : await db.batch(statements);

    const found = new Map<string, JobRow>();
    [...idsByCaller.keys()].forEach((claims, i) => {
      for (const row of (results[i] ?? []) as unknown as JobRow[])
        found.set(`${claims} ${row.id}`, row);
    });
    return lookups.map(({ claims, id }) => found.get(`${claims} ${id}`));
  };

  const batcher = new StatementBatcher<Lookup, Found>(
    async (lookups) => {
      if (lookups.length === 1) return [await readOne(lookups[0] as Lookup)];
      try {
        return await readMany(lookups);
      } catch {
        return await Promise.all(lookups.map(readOne));
      }
    },
    {
      maxInFlight: options.maxInFlight ?? 4,
      maxBatch: options.maxBatch ?? 100,
      gatherTurn: true,
    },
  );

  return {
    async find(auth, id) {
      const found = await batcher.submit({ claims: claimsOf(auth), id });
      if (found instanceof ReadFailure) throw found.cause;
      return found ? jobFromRow(found) : undefined;
    },
  };
}
