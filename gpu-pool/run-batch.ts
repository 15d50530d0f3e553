import type { Database } from '../core/db/database.ts';
import type { Logger } from '../core/logging/logger.ts';
import type { ClaimedJob } from '../core/queue/job.ts';
import type { Lease } from '../core/queue/lease.ts';
import { LeaseLostError } from '../core/queue/queue-errors.ts';
import {
  failJob,
  markCancelled,
  type RetryBackoff,
  reportProgress,
} from '../core/queue/settle-jobs.ts';
import { type InputReader, NO_INPUT_READER } from '../core/storage/read-input.ts';
import { abortReasonOf, PoolAbort } from './abort-reasons.ts';
import type { CompletionBatcher } from './completion-batcher.ts';
import {
  fatal,
  type HandlerJob,
  type JobHandler,
  type JobOutcome,
  retryable,
} from './handlers/handler.ts';
import type { PoolMetrics } from './pool-metrics.ts';

/** A job the pool holds, with the controller behind its handler's signal. */
export interface HeldJob {
  job: ClaimedJob;
  controller: AbortController;
  /** True once its batch began; a job that has not started can be handed back untouched. */
  started: boolean;
}

export interface BatchContext {
  db: Database;
  completions: CompletionBatcher;
  logger: Logger;
  metrics: PoolMetrics;
  retry: RetryBackoff;
  stopSignal: AbortSignal;
  /** Reads jobs' inputs for handlers; without one, every input fails `input_unavailable`. */
  inputReader?: InputReader | undefined;
}

const leaseOf = (job: ClaimedJob): Lease => ({ jobId: job.id, leaseToken: job.leaseToken });

/**
 * Runs one batch through its handler and settles every job of it: payloads are validated per
 * job, each job's timeout aborts its signal, and a handler that throws on a batch is retried
 * job by job so only the job at fault fails. `onRan` is called once the handler is done with
 * the batch, before the outcomes are written, so the caller can start more work while they
 * are. Never rejects.
 */
export async function runBatch(
  context: BatchContext,
  handler: JobHandler,
  batch: HeldJob[],
  model: unknown,
  onRan: () => void = () => {},
): Promise<void> {
  let ran = false;
  const ranOnce = () => {
    if (ran) return;
    ran = true;
    onRan();
  };
  try {
    await runHandler(context, handler, batch, model, ranOnce);
  } finally {
    ranOnce();
  }
}

async function runHandler(
  context: BatchContext,
  handler: JobHandler,
  batch: HeldJob[],
  model: unknown,
  onRan: () => void,
): Promise<void> {
  const startedAt = performance.now();
  const timers = batch.map((entry) => startTimeout(entry));
  const outcomes = new Map<string, JobOutcome>();

  // Jobs cancelled before they started, and payloads that do not parse, never reach the handler.
  const runnable: { entry: HeldJob; job: HandlerJob }[] = [];
  for (const entry of batch) {
    entry.started = true;
    if (entry.controller.signal.aborted) continue;

    const parsed = handler.jobType.payload.safeParse(entry.job.payload);
    if (!parsed.success) {
      const message = parsed.error.issues
        .map((i) => `${i.path.join('.')}: ${i.message}`)
        .join('; ');
      outcomes.set(entry.job.id, fatal('invalid_payload', message));
      continue;
    }
    runnable.push({ entry, job: handlerJob(context, entry, parsed.data) });
  }

  if (runnable.length > 0) {
    const reader = context.inputReader ?? NO_INPUT_READER;
    const handlerContext = {
      model,
      signal: context.stopSignal,
      logger: context.logger,
      db: context.db,
      readInput: reader.read.bind(reader),
    };
    const results = await runGuarded(
      handler,
      runnable.map((r) => r.job),
      handlerContext,
    );
    if (results) {
      for (const [i, r] of runnable.entries()) {
        outcomes.set(r.entry.job.id, results[i] as JobOutcome);
      }
    } else {
      // Find the job at fault: each runs alone.
      for (const r of runnable) {
        const alone = await runGuarded(handler, [r.job], handlerContext);
        outcomes.set(
          r.entry.job.id,
          alone?.[0] ?? retryable('handler_error', 'The handler threw.'),
        );
      }
    }
  }

  const durationMs = performance.now() - startedAt;
  for (const timer of timers) clearTimeout(timer);
  context.metrics.batchRan(handler.jobType.model ?? handler.jobType.type, batch.length, durationMs);
  onRan();

  await Promise.all(
    batch.map((entry) => settle(context, handler, entry, outcomes.get(entry.job.id), durationMs)),
  );
}

async function runGuarded(
  handler: JobHandler,
  jobs: HandlerJob[],
  context: Parameters<JobHandler['run']>[1],
): Promise<JobOutcome[] | undefined> {
  try {
    const results = await handler.run(jobs, context);
    if (results.length !== jobs.length) {
      throw new Error(`The handler answered ${results.length} outcomes for ${jobs.length} jobs.`);
    }
    return results;
  } catch (error) {
    if (jobs.length === 1) return [retryable('handler_error', (error as Error).message)];
    context.logger.warn({ err: error, size: jobs.length }, 'batch failed; running its jobs alone');
    return undefined;
  }
}

function handlerJob(context: BatchContext, entry: HeldJob, payload: unknown): HandlerJob {
  // The job's child logger is made when a handler first logs: most jobs never do, and a child
  // costs more than the rest of a short job's bookkeeping.
  let logger: Logger | undefined;
  return {
    id: entry.job.id,
    ownerId: entry.job.ownerId,
    payload,
    attempt: entry.job.attempts,
    signal: entry.controller.signal,
    reportProgress: (progress, message) =>
      reportProgress(context.db, leaseOf(entry.job), progress, message ?? null),
    get logger() {
      logger ??= context.logger.child({ jobId: entry.job.id });
      return logger;
    },
  };
}

function startTimeout(entry: HeldJob): NodeJS.Timeout | undefined {
  const timeoutMs = entry.job.timeoutMs;
  if (timeoutMs === null) return undefined;
  return setTimeout(() => entry.controller.abort(new PoolAbort('timeout')), timeoutMs);
}

/** Writes what became of one job, as its abort reason or its outcome says. */
async function settle(
  context: BatchContext,
  handler: JobHandler,
  entry: HeldJob,
  outcome: JobOutcome | undefined,
  durationMs: number,
): Promise<void> {
  const { job } = entry;
  const lease = leaseOf(job);
  const reason = abortReasonOf(entry.controller.signal);
  const type = handler.jobType.type;

  try {
    if (reason === 'lease_lost' || reason === 'stopping') return;

    if (reason === 'cancelled') {
      await markCancelled(context.db, lease);
      context.metrics.jobSettled(type, 'cancelled', durationMs);
    } else if (reason === 'timeout') {
      const message = `The job ran past its timeout of ${job.timeoutMs} ms.`;
      await failJob(
        context.db,
        lease,
        { code: 'timeout', message, retryable: true },
        context.retry,
      );
      context.metrics.jobSettled(type, 'failed', durationMs);
    } else if (outcome?.ok) {
      await context.completions.complete(lease, outcome.result);
      context.metrics.jobSettled(type, 'completed', durationMs);
    } else {
      const failure = outcome?.error ?? {
        code: 'no_outcome',
        message: 'No outcome.',
        retryable: true,
      };
      const status = await failJob(context.db, lease, failure, context.retry);
      context.metrics.jobSettled(type, status === 'cancelled' ? 'cancelled' : 'failed', durationMs);
      context.logger.info({ jobId: job.id, code: failure.code, status }, 'job failed');
    }
  } catch (error) {
    if (error instanceof LeaseLostError) {
      context.metrics.leaseLost();
      context.logger.warn({ jobId: job.id }, 'lease lost before the job was settled');
    } else {
      context.logger.error(
        { err: error, jobId: job.id },
        'could not settle; the lease will expire',
      );
    }
  }
}
