import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { Queryable, Statement } from '../db/database.ts';
import { type Job, type JobRow, jobFromRow } from './job.ts';
import { IdempotencyConflictError } from './queue-errors.ts';

/** What a caller asks to run. Only `type` and `payload` are required. */
export interface JobSpec {
  type: string;
  payload: unknown;
  ownerId?: string | null;
  /** The queue class, from `KAI_QUEUES`; the caller checks it exists. */
  queue: string;
  /** The model the handler runs; claims group by it so a batch fills. */
  model?: string | null;
  /** Higher runs first within a class. */
  priority?: number;
  /** Run no earlier than this many milliseconds from now. */
  runAfterMs?: number;
  maxAttempts?: number;
  timeoutMs?: number | null;
  /** Same owner, key and request: the existing job; same key, other request: a conflict. */
  idempotencyKey?: string | null;
}

export interface EnqueueResult {
  job: Job;
  /** False when an idempotency key matched an existing job, which is returned instead. */
  created: boolean;
}

/** The insert of a batch of specs, `$1` their rows as JSON; `tail` ends the statement. */
const insertJobs = (tail: string) => `
  insert into public.jobs (
    id, type, payload, owner_id, queue, model, priority, run_at, max_attempts, timeout_ms,
    idempotency_key
  )
  select s.id, s.type, s.payload, s.owner_id, s.queue, s.model, coalesce(s.priority, 0),
         now() + coalesce(s.run_after_ms, 0) * interval '1 millisecond',
         coalesce(s.max_attempts, 3), s.timeout_ms, s.idempotency_key
  from jsonb_to_recordset($1::jsonb) as s(
    id uuid, type text, payload jsonb, owner_id uuid, queue text, model text, priority int,
    run_after_ms bigint, max_attempts int, timeout_ms int, idempotency_key text
  )
  ${tail}`;

/** Specs with idempotency keys: a key already used inserts nothing, and is read after. */
const INSERT_JOBS = insertJobs(`
  on conflict (owner_id, idempotency_key) where idempotency_key is not null do nothing
  returning *`);

/**
 * Specs without any: no row can meet the keys' unique index, so the insert goes without the
 * arbiter's speculative insertion, which costs each row a few microseconds more (about 6 of 70
 * on PGlite).
 */
const INSERT_UNKEYED_JOBS = insertJobs('returning *');

const FIND_BY_KEYS = `
  select j.* from public.jobs j
  join jsonb_to_recordset($1::jsonb) as k(owner_id uuid, idempotency_key text)
    on j.owner_id is not distinct from k.owner_id and j.idempotency_key = k.idempotency_key`;

/**
 * Enqueues jobs in one statement, in the caller's transaction when given one (the job then
 * exists exactly when the caller's change commits). Results come back in the order of `specs`.
 * An idempotency key already used with the same type and payload returns that job; with a
 * different one it throws `IdempotencyConflictError` and nothing of the call is enqueued when
 * run in a transaction.
 */
export async function enqueueJobs(
  db: Queryable,
  specs: readonly JobSpec[],
): Promise<EnqueueResult[]> {
  const results = await enqueueJobsEach(db, specs);
  for (const result of results) if (result instanceof IdempotencyConflictError) throw result;
  return results as EnqueueResult[];
}

/**
 * `enqueueJobs`, but an idempotency conflict is the result of its own spec instead of an error
 * of the whole call: the other specs are enqueued (the conflicting one never is). The insert is
 * the first statement sent, synchronously on the call, so a statement issued just before it on
 * the same connection (the caller's claims) runs first.
 */
export async function enqueueJobsEach(
  db: Queryable,
  specs: readonly JobSpec[],
): Promise<EnqueueOutcome[]> {
  if (specs.length === 0) return [];
  const plan = planEnqueue(specs);
  const inserted = await db.query<JobRow>(plan.insert.text, plan.insert.params);
  const found =
    plan.findKeyed && inserted.length < specs.length
      ? await db.query<JobRow>(plan.findKeyed.text, plan.findKeyed.params)
      : [];
  return plan.settle(inserted, found);
}

/** A spec's outcome: its job, or the conflict its idempotency key ran into. */
export type EnqueueOutcome = EnqueueResult | IdempotencyConflictError;

/** The statements that enqueue some specs, and how their rows answer each spec. */
export interface EnqueuePlan {
  /** Inserts the jobs; returns the rows it inserted. */
  insert: Statement;
  /** Reads the jobs the specs' idempotency keys name; undefined when no spec has a key. */
  findKeyed: Statement | undefined;
  /** The outcomes in the order of the specs, from the rows of the insert and of the read. */
  settle(inserted: readonly JobRow[], found: readonly JobRow[]): EnqueueOutcome[];
}

/**
 * Plans the enqueue of `specs` as statements that need nothing of each other's results, so a
 * caller can send them in one batch (the read after the insert); `enqueueJobsEach` runs them
 * one by one.
 */
export function planEnqueue(specs: readonly JobSpec[]): EnqueuePlan {
  const rows = specs.map((s) => ({
    id: randomUUID(),
    type: s.type,
    payload: s.payload,
    owner_id: s.ownerId ?? null,
    queue: s.queue,
    model: s.model ?? null,
    priority: s.priority ?? null,
    run_after_ms: s.runAfterMs ?? null,
    max_attempts: s.maxAttempts ?? null,
    timeout_ms: s.timeoutMs ?? null,
    idempotency_key: s.idempotencyKey ?? null,
  }));
  const keyed = rows.filter((r) => r.idempotency_key !== null);
  const keyOf = (ownerId: string | null, key: string | null) => `${ownerId ?? ''}\u0000${key}`;

  return {
    insert: { text: keyed.length === 0 ? INSERT_UNKEYED_JOBS : INSERT_JOBS, params: [rows] },
    findKeyed:
      keyed.length === 0
        ? undefined
        : {
            text: FIND_BY_KEYS,
            params: [
              keyed.map((r) => ({ owner_id: r.owner_id, idempotency_key: r.idempotency_key })),
            ],
          },
    settle(insertedRows, foundRows) {
      const inserted = new Map(insertedRows.map((row) => [row.id, row]));
      const existing = new Map(
        foundRows.map((row) => [keyOf(row.owner_id, row.idempotency_key), row]),
      );
      return rows.map((request, i) => {
        const row = inserted.get(request.id);
        if (row) return { job: jobFromRow(row), created: true };

        const key = request.idempotency_key as string;
        const match = existing.get(keyOf(request.owner_id, key));
        if (!match)
          throw new Error(`The job with idempotency key ${key} vanished while enqueuing.`);
        const spec = specs[i] as JobSpec;
        const payload = JSON.parse(JSON.stringify(spec.payload));
        if (match.type !== spec.type || !isDeepStrictEqual(match.payload, payload)) {
          return new IdempotencyConflictError(key, match.id);
        }
        return { job: jobFromRow(match), created: false };
      });
    },
  };
}

/** Enqueues one job; see `enqueueJobs`. */
export async function enqueueJob(db: Queryable, spec: JobSpec): Promise<EnqueueResult> {
  const [result] = await enqueueJobs(db, [spec]);
  if (!result) throw new Error('enqueueJobs returned no result for one spec.');
  return result;
}
