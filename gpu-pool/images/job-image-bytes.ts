import type { ImageSource } from '../../core/spec/job-payloads.ts';
import { InputReadError } from '../../core/storage/read-input.ts';
import {
  fatal,
  type HandlerContext,
  type HandlerJob,
  type JobOutcome,
  retryable,
} from '../handlers/handler.ts';

/** The encoded bytes of a job's image, or the outcome its job fails with. */
export type JobImageBytes = { ok: true; bytes: Uint8Array } | { ok: false; outcome: JobOutcome };

/**
 * The encoded bytes of one job's image, from `source`: `imageBase64` decoded, or `input` read
 * through the context's input reader with the job's signal and owner. An input that cannot be
 * read answers its job's outcome (fatal or retryable, as the reader's code says) rather than
 * throwing, so one bad input fails only its own job.
 */
export async function jobImageBytes(
  job: HandlerJob<unknown>,
  source: ImageSource,
  context: Pick<HandlerContext, 'readInput'>,
): Promise<JobImageBytes> {
  if (source.input === undefined) {
    return { ok: true, bytes: Buffer.from(source.imageBase64 ?? '', 'base64') };
  }

  try {
    const read = await context.readInput(source.input, {
      signal: job.signal,
      ownerId: job.ownerId,
    });
    return { ok: true, bytes: read.bytes };
  } catch (error) {
    if (!(error instanceof InputReadError)) {
      return { ok: false, outcome: retryable('input_read_failed', (error as Error).message) };
    }
    job.logger.info({ code: error.code, retryable: error.retryable }, 'input refused');
    const outcome = error.retryable
      ? retryable(error.code, error.message)
      : fatal(error.code, error.message);
    return { ok: false, outcome };
  }
}

/** `jobImageBytes` for every job of a batch, read concurrently, in the batch's order. */
export function jobsImageBytes<Payload extends ImageSource>(
  jobs: readonly HandlerJob<Payload>[],
  context: Pick<HandlerContext, 'readInput'>,
): Promise<JobImageBytes[]> {
  return Promise.all(jobs.map((job) => jobImageBytes(job, job.payload, context)));
}
