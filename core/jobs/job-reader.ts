import type { Auth } from '../auth/caller.ts';
import { callerScope, claimsOf } from '../auth/user-scope.ts';
import type { Database, Queryable, Statement } from '../db/database.ts';
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
 * both back. The reader's lone reads on a server; `createJobReader` gathers the rest.
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

/** One job by primary key, under whatever claims and role the transaction has set. */
const FIND_JOB = 'select * from public.jobs where id = $1';

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
 * On PGlite the same reads go as plain statements instead (`readStatementByStatement`).
 *
 * Should a batch fail, each read is tried on its own, so one read's error stays its own.
 */
export function createJobReader(db: Database, options: JobReaderOptions = {}): JobReader {
  const readMany = async (lookups: readonly Lookup[]): Promise<Found[]> => {
    const idsByCaller = new Map<string, Set<string>>();
    for (const { claims, id } of lookups) {
      const ids = idsByCaller.get(claims);
      if (ids) ids.add(id);
      else idsByCaller.set(claims, new Set([id]));
    }

    const reads =
      db.driver === 'pglite'
        ? await readStatementByStatement(db, idsByCaller)
        : await readPerCaller(db, idsByCaller);
    // Keyed by caller, then id: the claims string is the same object for a caller's reads,
    // so its hash is computed once, where a joined key would be a new string for every job.
    const found = new Map<string, Map<string, Job>>();
    for (const { claims, rows } of reads) {
      const jobs = found.get(claims) ?? new Map<string, Job>();
      found.set(claims, jobs);
      for (const row of rows) jobs.set(row.id, jobFromRow(row));
    }
    return lookups.map(({ claims, id }) => found.get(claims)?.get(id));
  };

  const readOne = (lookup: Lookup): Promise<Found> =>
    (db.driver === 'pglite'
      ? readMany([lookup]).then(([one]) => one)
      : findJobAsCaller(db, lookup.auth, lookup.id)
    ).catch((error: unknown) => new ReadFailure(error));

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
      // Two reads out, the waiting ones shared between them, as the submitter does: on PGlite's
      // thread, bench:api's reads reached 0.67-0.72x of the edge alone this way, 0.61x with
      // four out and the first taking all.
      maxInFlight: options.maxInFlight ?? 2,
      spread: true,
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

/** What one statement read, with the caller it was read as. */
interface CallerRows {
  claims: string;
  rows: JobRow[];
}

/**
 * The reads of several callers on a server: one `kai.find_jobs_as_caller` per caller, as one
 * statement alone or as a batch.
 */
async function readPerCaller(
  db: Database,
  idsByCaller: ReadonlyMap<string, ReadonlySet<string>>,
): Promise<CallerRows[]> {
  const statements = [...idsByCaller].map(([claims, ids]) => ({
    text: FIND_JOBS_AS_CALLER,
    params: [claims, [...ids]],
  }));
  const rowsOf =
    statements.length === 1
      ? [await db.query(FIND_JOBS_AS_CALLER, statements[0]?.params)]
      : await db.batch(statements);
  return [...idsByCaller.keys()].map((claims, i) => ({
    claims,
    rows: (rowsOf[i] ?? []) as unknown as JobRow[],
  }));
}

/**
 * The reads of several callers on PGlite, in one batch whose transaction ends with it: per
 * caller, its claims and role (`callerScope`), then one primary-key read per id under RLS.
 * There a statement costs little and plpgsql much: a read of one job through
 * `kai.find_jobs_as_caller` took about 116 us of WebAssembly, the same read as the claims'
 * statement and a plain select about 64 us. Each read's rows, with the caller they were read as.
 */
async function readStatementByStatement(
  db: Database,
  idsByCaller: ReadonlyMap<string, ReadonlySet<string>>,
): Promise<CallerRows[]> {
  const statements: Statement[] = [];
  const readers: (string | undefined)[] = [];
  for (const [claims, ids] of idsByCaller) {
    statements.push(callerScope(claims));
    readers.push(undefined);
    for (const id of ids) {
      statements.push({ text: FIND_JOB, params: [id] });
      readers.push(claims);
    }
  }
  const results = await db.batch(statements);
  return results.flatMap((rows, i) => {
    const claims = readers[i];
    return claims === undefined ? [] : [{ claims, rows: rows as unknown as JobRow[] }];
  });
}
