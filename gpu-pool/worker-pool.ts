import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Database } from '../core/db/database.ts';
import { JOB_EVENTS_CHANNEL, type JobChange, jobChangesOf } from '../core/jobs/job-events.ts';
import {
  type PoolModelReport,
  refreshPoolModels,
  reportPoolModels,
} from '../core/jobs/model-status.ts';
import type { Logger } from '../core/logging/logger.ts';
import { claimJobs } from '../core/queue/claim-jobs.ts';
import { deleteFinishedJobs } from '../core/queue/delete-finished-jobs.ts';
import type { ClaimedJob } from '../core/queue/job.ts';
import { type Lease, renewLeases } from '../core/queue/lease.ts';
import { type QueueClasses, syncQueueClasses } from '../core/queue/queue-classes.ts';
import { type RetryBackoff, releaseJobs } from '../core/queue/settle-jobs.ts';
import type { InputReader } from '../core/storage/read-input.ts';
import { PoolAbort } from './abort-reasons.ts';
import { BatchWindows } from './batch-windows.ts';
import { CompletionBatcher } from './completion-batcher.ts';
import type { JobHandler } from './handlers/handler.ts';
import { NO_METRICS, type PoolMetrics } from './pool-metrics.ts';
import { type ModelProvider, NO_MODELS } from './pool-model.ts';
import { type HeldJob, runBatch } from './run-batch.ts';

export interface WorkerPoolOptions {
  db: Database;
  logger: Logger;
  handlers: readonly JobHandler[];
  models?: ModelProvider;
  queueClasses: QueueClasses;
  leaseMs: number;
  retry: RetryBackoff;
  /** Jobs this process runs at once (in handlers), over all batches. */
  concurrency: number;
  /**
   * Jobs claimed ahead of free handler slots, as graphile-worker's local queue: they wait in
   * this process, their leases heartbeated, and start as slots free up, so one claim serves
   * many short jobs. A held job is running as far as the database knows, so it counts against
   * its class's global concurrency. Jobs whose handler is done and whose outcome is being
   * written stay held but do not hold up claims (up to another `concurrency + prefetch` of
   * them). 0 (the default) claims only for free slots.
   */
  prefetch?: number;
  /** The largest claim, and so the largest batch. */
  batchSizeLimit: number;
  /** Claims also run this often, for retries coming due and missed notifications. */
  pollIntervalMs: number;
  workerId?: string;
  metrics?: PoolMetrics;
  /** Finished jobs older than this are deleted by the pool's housekeeping. */
  retentionDays?: number;
  /**
   * More upkeep for the pool's housekeeping pass (at start, then every 10 minutes), such as the
   * parameter registry's; each runs on its own, and a failing one is logged and skipped.
   */
  housekeeping?: readonly { name: string; run: () => Promise<unknown> }[];
  /** The models this pool serves, published for `GET /v1/models` while the pool runs. */
  modelReports?: () => PoolModelReport[];
  /**
   * Reads jobs' `payload.input` for the handlers (stored objects, URLs); without one, jobs
   * with an input fail `input_unavailable` and inline payloads run as ever.
   */
  inputReader?: InputReader;
}

/** A change the pool acts on, in either form of notification (`"key":value`, `"key" : value`). */
const WORTH_PARSING = /"cancelRequested" ?: ?true|"status" ?: ?"(?:queued|failed)"/;

/** How often a pool refreshes its model reports; well inside `MODEL_REPORT_TTL_MS`. */
const MODEL_REPORT_REFRESH_MS = 30_000;

/** How often a pool deletes finished jobs past retention; every pool does, which is harmless. */
const HOUSEKEEPING_INTERVAL_MS = 10 * 60_000;
const RETENTION_BATCH = 5000;

/** The GPU worker pool, shared by `npm run pool` and `npm start`. */
export interface WorkerPool {
  readonly workerId: string;
  /** Syncs the queue classes, subscribes to job changes and starts claiming. */
  start(): Promise<void>;
  isReady(): boolean;
  /** Jobs held now: running or waiting in a batch window. */
  heldCount(): number;
  /**
   * Stops claiming, puts jobs that have not started back in the queue and resolves when the
   * running ones have settled. Bound its time from outside; `stopNow` ends what is left.
   */
  drain(): Promise<void>;
  /** Aborts every running job without writing anything; their leases expire and they rerun. */
  stopNow(): void;
}

/**
 * Creates the pool: it wakes on the jobs table's notifications (and a slow poll), claims jobs
 * of the types it has handlers and ready models for, forms batches per model within the
 * model's max queue delay, heartbeats every lease it holds, and settles each job with its
 * fencing token. A failing handler, a lost lease or a database hiccup fails at most the jobs
 * concerned, never the pool.
 */
export function createWorkerPool(options: WorkerPoolOptions): WorkerPool {
  const workerId = options.workerId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const logger = options.logger.child({ workerId });
  const metrics = options.metrics ?? NO_METRICS;
  const models = options.models ?? NO_MODELS;
  const handlers = new Map(options.handlers.map((h) => [h.jobType.type, h]));
  const stopping = new AbortController();

  const held = new Map<string, HeldJob>();
  const running = new Set<Promise<void>>();
  // Batches (a single job for types without a model) waiting for handler slots, oldest first;
  // `ran` tells the batch windows that a model's batch is done with it.
  const waiting: { handler: JobHandler; batch: HeldJob[]; model: unknown; ran?: () => void }[] = [];
  let inHandlers = 0;
  // Jobs whose handler is done and whose outcome is being written: still held (their leases
  // live until then) but no reason to wait before claiming more.
  let settling = 0;
  const prefetch = Math.max(0, options.prefetch ?? 0);
  const holdLimit = options.concurrency + prefetch;
  let ready = false;
  let draining = false;
  let claiming = false;
  let claimAgain = false;
  let unlisten: (() => Promise<void>) | undefined;
  const timers: NodeJS.Timeout[] = [];

  // While work runs, claim only once half a claim of room is free: one claim of several jobs
  // costs about what a claim of one does (a commit), and the class locks serialise claims.
  const claimLimit = Math.max(options.batchSizeLimit, prefetch);
  const minClaim = Math.max(1, Math.floor(Math.min(claimLimit, holdLimit) / 2));

  const leaseOf = (job: ClaimedJob): Lease => ({ jobId: job.id, leaseToken: job.leaseToken });

  const batchContext = {
    db: options.db,
    completions: new CompletionBatcher(options.db),
    logger,
    metrics,
    retry: options.retry,
    stopSignal: stopping.signal,
    inputReader: options.inputReader,
  };

  // Starts waiting batches while handler slots are free. A batch larger than the concurrency
  // still runs, alone, so no batch waits forever.
  const pump = () => {
    while (waiting.length > 0) {
      const next = waiting[0] as (typeof waiting)[number];
      if (inHandlers > 0 && inHandlers + next.batch.length > options.concurrency) return;
      waiting.shift();
      start(next.handler, next.batch, next.model, next.ran);
    }
  };

  // Runs a batch; frees its handler slots (and its model's room for a batch, `ran`) once the
  // handler is done and lets go of its jobs once each is settled.
  const start = (handler: JobHandler, batch: HeldJob[], model: unknown, ran?: () => void) => {
    inHandlers += batch.length;
    const onRan = () => {
      inHandlers -= batch.length;
      settling += batch.length;
      ran?.();
      pump();
      wake();
    };
    const done = runBatch(batchContext, handler, batch, model, onRan).finally(() => {
      settling -= batch.length;
      for (const entry of batch) {
        if (held.get(entry.job.id) === entry) held.delete(entry.job.id);
      }
      running.delete(done);
      wake();
    });
    running.add(done);
  };

  const run = (handler: JobHandler, batch: HeldJob[], model: unknown, ran?: () => void) => {
    waiting.push({ handler, batch, model, ...(ran ? { ran } : {}) });
    pump();
  };

  // Takes a job out of the batches waiting for slots; false when it is not waiting there.
  const unqueue = (entry: HeldJob) => {
    for (const [i, w] of waiting.entries()) {
      const index = w.batch.indexOf(entry);
      if (index < 0) continue;
      w.batch.splice(index, 1);
      if (w.batch.length === 0) {
        waiting.splice(i, 1);
        w.ran?.();
      }
      return true;
    }
    return false;
  };

  const windows = new BatchWindows((type, batch) => {
    const handler = handlers.get(type);
    const model = handler?.jobType.model ? models.get(handler.jobType.model) : undefined;
    if (handler) run(handler, batch, model?.instance, () => windows.done(type));
    else windows.done(type);
  });

  // The types worth claiming: a handler, and a ready model where the type needs one.
  const claimableTypes = () =>
    [...handlers.values()]
      .filter((h) => h.jobType.model === null || models.get(h.jobType.model) !== undefined)
      .map((h) => h.jobType.type);

  const accept = (jobs: ClaimedJob[]) => {
    for (const job of jobs) {
      // Claimed again while an older attempt still runs here: that attempt's lease is gone.
      const previous = held.get(job.id);
      if (previous) {
        metrics.leaseLost();
        previous.controller.abort(new PoolAbort('lease_lost'));
      }

      const entry: HeldJob = { job, controller: new AbortController(), started: false };
      held.set(job.id, entry);

      const handler = handlers.get(job.type);
      const modelName = handler?.jobType.model;
      const model = modelName ? models.get(modelName) : undefined;
      if (!handler || (modelName && !model)) {
        // The model went away between the claim and now; the job goes back untouched.
        held.delete(job.id);
        void releaseJobs(options.db, [leaseOf(job)]).catch((error: unknown) => {
          logger.warn(
            { err: error, jobId: job.id },
            'could not release a job; its lease will expire',
          );
        });
        continue;
      }

      if (model) windows.add(job.type, entry, model.batchSize, model.maxQueueDelayMs);
      else run(handler, [entry], undefined);
    }
  };

  const claimLoop = async () => {
    while (!draining) {
      // Settling jobs are excused up to one more hold's worth: a slow database then stops the
      // claims instead of letting held jobs pile up.
      const free = holdLimit - (held.size - Math.min(settling, holdLimit));
      const types = claimableTypes();
      if (free < (held.size === 0 ? 1 : minClaim) || types.length === 0) return;

      const limit = Math.min(free, claimLimit);
      const jobs = await claimJobs(options.db, {
        workerId,
        types,
        limit,
        leaseMs: options.leaseMs,
      });
      if (jobs.length === 0) return;

      metrics.claimed(jobs[0]?.queue ?? 'unknown', jobs.length);
      logger.debug({ count: jobs.length, queue: jobs[0]?.queue }, 'claimed');
      accept(jobs);
    }
  };

  // Coalesces wake-ups: one claim loop at a time, run once more if woken meanwhile.
  function wake(): void {
    if (draining || !ready) return;
    if (claiming) {
      claimAgain = true;
      return;
    }

    claiming = true;
    claimAgain = false;
    claimLoop()
      .catch((error: unknown) =>
        logger.error({ err: error }, 'claim failed; retrying on next wake'),
      )
      .finally(() => {
        claiming = false;
        if (claimAgain) wake();
      });
  }

  const heartbeat = async () => {
    const leases = [...held.values()].map((entry) => leaseOf(entry.job));
    if (leases.length === 0) return;

    const renewed = await renewLeases(options.db, leases, options.leaseMs);
    for (const lease of leases) {
      const entry = held.get(lease.jobId);
      if (!entry || renewed.has(lease.jobId)) continue;
      metrics.leaseLost();
      logger.warn({ jobId: lease.jobId }, 'lease lost; the job is no longer this worker’s');
      entry.controller.abort(new PoolAbort('lease_lost'));
      if (!entry.started && windows.remove(entry.job.type, entry.job.id)) held.delete(entry.job.id);
    }
  };

  // Expired leases are reclaimed by every claim, but a pool at capacity does not claim; jobs
  // whose last attempt expired must still become dead promptly.
  const housekeeping = async () => {
    await options.db.query('select kai.reclaim_expired_leases()');
    if (options.retentionDays === undefined) return;

    let deleted = 0;
    for (let batch = RETENTION_BATCH; batch === RETENTION_BATCH; deleted += batch) {
      batch = await deleteFinishedJobs(options.db, options.retentionDays, RETENTION_BATCH);
    }
    if (deleted > 0) logger.info({ deleted, retentionDays: options.retentionDays }, 'jobs deleted');
  };

  const otherHousekeeping = async () => {
    for (const task of options.housekeeping ?? []) {
      try {
        const result = await task.run();
        logger.debug({ task: task.name, result }, 'housekeeping task done');
      } catch (error) {
        logger.warn({ err: error, task: task.name }, 'housekeeping task failed');
      }
    }
  };

  const runHousekeeping = () => {
    housekeeping()
      .catch((error: unknown) => logger.warn({ err: error }, 'housekeeping failed'))
      .then(otherHousekeeping);
  };

  const onJobChange = (change: JobChange) => {
    const entry = held.get(change.id);
    if (change.cancelRequested && entry && !entry.controller.signal.aborted) {
      logger.info({ jobId: change.id }, 'cancel requested');
      entry.controller.abort(new PoolAbort('cancelled'));
      // A job that has not started is settled now; it needs no handler slot.
      if (!entry.started && (windows.remove(entry.job.type, entry.job.id) || unqueue(entry))) {
        start(handlers.get(entry.job.type) as JobHandler, [entry], undefined);
      }
    }
    return change.status === 'queued' || change.status === 'failed';
  };

  // One notification may carry the changes of a whole claim or completion; one wake is enough.
  // Most are such claims and completions, which ask nothing of the pool: only a payload that
  // names a cancellation request or a job ready to run again is worth parsing.
  const onJobChanges = (payload: string) => {
    if (!WORTH_PARSING.test(payload)) return;
    let runnable = false;
    for (const change of jobChangesOf(payload)) runnable = onJobChange(change) || runnable;
    if (runnable) wake();
  };

  return {
    workerId,

    async start() {
      await syncQueueClasses(options.db, options.queueClasses);
      await reportPoolModels(options.db, workerId, options.modelReports?.() ?? []);
      unlisten = await options.db.listen(JOB_EVENTS_CHANNEL, onJobChanges);
      timers.push(setInterval(wake, options.pollIntervalMs));
      timers.push(
        setInterval(
          () => {
            heartbeat().catch((error: unknown) => logger.warn({ err: error }, 'heartbeat failed'));
          },
          Math.max(50, Math.floor(options.leaseMs / 3)),
        ),
      );
      timers.push(setInterval(runHousekeeping, HOUSEKEEPING_INTERVAL_MS));
      timers.push(
        setInterval(() => {
          refreshPoolModels(options.db, workerId).catch((error: unknown) => {
            logger.warn({ err: error }, 'could not refresh the model reports');
          });
        }, MODEL_REPORT_REFRESH_MS),
      );
      for (const timer of timers) timer.unref();

      ready = true;
      logger.info(
        { types: claimableTypes(), concurrency: options.concurrency, prefetch },
        'pool ready',
      );
      wake();
      runHousekeeping();
    },

    isReady: () => ready && !draining,

    heldCount: () => held.size,

    async drain() {
      draining = true;
      const unstarted = [...windows.takeAll(), ...waiting.splice(0).flatMap((w) => w.batch)];
      for (const entry of unstarted) held.delete(entry.job.id);
      if (unstarted.length > 0) {
        const released = await releaseJobs(
          options.db,
          unstarted.map((e) => leaseOf(e.job)),
        );
        logger.info({ released }, 'released jobs that had not started');
      }

      await Promise.allSettled([...running]);
      for (const timer of timers) clearInterval(timer);
      await reportPoolModels(options.db, workerId, []).catch((error: unknown) => {
        logger.warn({ err: error }, 'could not withdraw the model reports');
      });
      await unlisten?.();
      unlisten = undefined;
      ready = false;
      logger.info('pool drained');
    },

    stopNow() {
      draining = true;
      stopping.abort(new PoolAbort('stopping'));
      for (const entry of held.values()) entry.controller.abort(new PoolAbort('stopping'));
    },
  };
}
