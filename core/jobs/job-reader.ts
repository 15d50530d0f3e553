import type { Auth } from '../auth/caller.ts';
import { claimsOf } from '../auth/user-scope.ts';
import type { Database, Queryable } from '../db/database.ts';
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
 * One job by id as `auth` sees it, in one statement and round trip (no transaction around
 * it): `kai.find_job_as_caller` sets the caller's claims and role, reads under RLS and puts
 * both back. The reader's lone reads; `createJobReader` gathers the rest.
 */
export async function findJobAsCaller(
  db: Queryable,
  auth: Auth,
  id: string,
): Promise<Job | undefined> {
  const [row] = await db.query<JobRow>('select * from kai.find_job_as_caller($1, $2)', [
    claimsOf(auth),
    id,
  ]);
  return row ? jobFromRow(row) : undefined;
}

/** Several ids of one caller as `findJobAsCaller` reads one: `$2` the ids, as `uuid[]`. */
const FIND_JOBS_AS_CALLER = 'select * from kai.find_jobs_as_caller($1, $2::uuid[])';

interface Lookup {
  auth: Auth;
  claims: string;
  id: string;
}

/** A read that failed on its own (a job has an `error` field, so not a plain `{ error }`). */
class ReadFailure {
  readonly cause: unknown;
  constructor(cause: unknown) {
    this.cause = cause;
  }
}

type Found = Job | undefined | ReadFailure;

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
    findJobAsCaller(db, lookup.auth, lookup.id).catch((error: unknown) => new ReadFailure(error));

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

    const found = new Map<string, Job>();
    [...idsByCaller.keys()].forEach((claims, i) => {
      for (const row of (results[i] ?? []) as unknown as JobRow[]) {
        found.set(`${claims} ${row.id}`, jobFromRow(row));
      }
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
      const found = await batcher.submit({ auth, claims: claimsOf(auth), id });
      if (found instanceof ReadFailure) throw found.cause;
      return found;
    },
  };
}
