import type { Database } from '../../core/db/database.ts';
import type { JobType } from '../../core/jobs/job-types.ts';
import type { Logger } from '../../core/logging/logger.ts';
import type { Failure } from '../../core/queue/settle-jobs.ts';
import type { InputReader } from '../../core/storage/read-input.ts';

/** One job of a batch, as a handler sees it. */
export interface HandlerJob<Payload = unknown> {
  id: string;
  /** The user who submitted it (`auth.uid()`), or null for a job of the service itself. */
  ownerId: string | null;
  payload: Payload;
  /** 1 for the first attempt. */
  attempt: number;
  /** Fires when the job is cancelled, times out, loses its lease or the pool stops hard. */
  signal: AbortSignal;
  /** Reports 0-100 and a message; fenced by the job's lease like every write. */
  reportProgress(progress: number, message?: string): Promise<void>;
  logger: Logger;
}

/** What became of one job of a batch. */
export type JobOutcome = { ok: true; result: unknown } | { ok: false; error: Failure };

/** What a handler gets besides its jobs. */
export interface HandlerContext<Model = unknown> {
  /** The loaded model, for handlers of a type with a model. */
  model: Model | undefined;
  /** Fires when the pool stops hard. */
  signal: AbortSignal;
  logger: Logger;
  /**
   * The pool's database, for handlers that read Kai's data (such as the catalog). It connects
   * with the pool's privileges: run reads on a user's behalf as that user (see `ownerId`).
   */
  db: Database;
  /**
   * Reads a job's `payload.input` (a stored object, checked against its recorded size and
   * SHA-256, or a URL fetched through the SSRF guard within the byte limit); rejects only with
   * `InputReadError`, whose code and `retryable` say how the job fails. Pass the job's own
   * signal and owner.
   */
  readInput: InputReader['read'];
}

/**
 * Runs one job type. The pool hands it a batch (jobs of one model, up to the model's preferred
 * batch size); it answers one outcome per job, in order. A handler that throws fails nothing
 * by itself: the pool runs each job of the batch alone to find the one at fault.
 */
export interface JobHandler<Payload = unknown, Model = unknown> {
  jobType: JobType<Payload>;
  run(jobs: HandlerJob<Payload>[], context: HandlerContext<Model>): Promise<JobOutcome[]>;
}

/** A failure that another attempt may not repeat (a crash, a timeout, a lost device). */
export function retryable(code: string, message: string, details?: unknown): JobOutcome {
  return { ok: false, error: { code, message, retryable: true, details } };
}

/** A failure that every attempt would repeat (bad input): the job is dead at once. */
export function fatal(code: string, message: string, details?: unknown): JobOutcome {
  return { ok: false, error: { code, message, retryable: false, details } };
}
