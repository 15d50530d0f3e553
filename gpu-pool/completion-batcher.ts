import type { Queryable } from '../core/db/database.ts';
import type { Lease } from '../core/queue/lease.ts';
import { LeaseLostError } from '../core/queue/queue-errors.ts';
import { completeJobs } from '../core/queue/settle-jobs.ts';

interface Pending {
  lease: Lease;
  result: unknown;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** The most completions one statement writes. */
const MAX_BATCH = 500;

/**
 * Gathers completions into one statement, as graphile-worker batches its completions: many
 * jobs finishing together cost one round trip, one commit and a few notifications. One write
 * is in flight at a time; what finishes meanwhile waits for it and goes in the next, so
 * batches grow with the load. Little parallelism is lost: Postgres lets the transactions that
 * notify (every completion does, for its jobs' changes) commit one at a time under a global
 * lock, so concurrent completion writes would mostly wait there instead. Each caller still
 * learns its own fate: resolved when written, `LeaseLostError` when its lease was gone.
 */
export class CompletionBatcher {
  readonly #db: Queryable;
  readonly #delayMs: number;
  #pending: Pending[] = [];
  #scheduled = false;
  #writing = false;

  constructor(db: Queryable, delayMs = 0) {
    this.#db = db;
    this.#delayMs = delayMs;
  }

  complete(lease: Lease, result: unknown): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ lease, result, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#writing) return;
    this.#scheduled = true;
    if (this.#delayMs > 0) setTimeout(() => this.#flush(), this.#delayMs);
    else setImmediate(() => this.#flush());
  }

  #flush(): void {
    this.#scheduled = false;
    const batch = this.#pending.splice(0, MAX_BATCH);
    if (batch.length === 0) return;

    this.#writing = true;
    completeJobs(this.#db, batch)
      .then(
        (completed) => {
          for (const p of batch) {
            if (completed.has(p.lease.jobId)) p.resolve();
            else p.reject(new LeaseLostError(p.lease.jobId));
          }
        },
        (error: unknown) => {
          for (const p of batch) p.reject(error);
        },
      )
      .finally(() => {
        this.#writing = false;
        if (this.#pending.length > 0) this.#schedule();
      });
  }
}
