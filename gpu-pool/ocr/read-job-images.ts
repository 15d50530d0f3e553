import type { ImageSource } from '../../core/spec/job-payloads.ts';
import type { HandlerContext, HandlerJob, JobOutcome } from '../handlers/handler.ts';
import { fatal, retryable } from '../handlers/handler.ts';
import { decodeImage, ImageInputError } from '../images/decode-image.ts';
import { jobImageBytes } from '../images/job-image-bytes.ts';
import type { LoadedModel } from '../models/model-repository.ts';
import { ocrModelOf } from './loaded-ocr-model.ts';
import { type OcrOptions, type OcrResult, recognizeImages } from './ocr-engine.ts';

/** Per job: the OCR of its image, or the fatal outcome of an image that cannot be read. */
export type JobReading = { ok: true; ocr: OcrResult } | { ok: false; outcome: JobOutcome };

/**
 * Decodes the image of each job (inline base64, or its input read through the context's
 * reader) and reads all of them in one OCR pass, so the text lines of the whole batch share
 * recognizer runs. An image that cannot be decoded fails its own job (fatal, with the image's
 * stable code), an input that cannot be read fails it with the reader's code, and neither
 * touches the others; a failing model throws, for the pool to retry the jobs one by one.
 * `options` tune the OCR of every image of the call (the engine's defaults otherwise).
 */
export async function readJobImages(
  jobs: readonly HandlerJob<ImageSource>[],
  context: Pick<HandlerContext<LoadedModel>, 'model' | 'logger' | 'readInput'>,
  options: OcrOptions = {},
): Promise<JobReading[]> {
  const { model, logger } = context;
  if (!model) throw new Error('The paddleocr model is not loaded.');
  const ocr = await ocrModelOf(model);
  // Inputs are fetched concurrently; each is decoded in turn below.
  const sources = await Promise.all(
    jobs.map((job) => (job.signal.aborted ? undefined : jobImageBytes(job, job.payload, context))),
  );

  const readings: (JobReading | undefined)[] = [];
  const images: Awaited<ReturnType<typeof decodeImage>>[] = [];
  const imageOf: number[] = [];
  for (const [index, job] of jobs.entries()) {
    // A job cancelled or timed out before its turn is not read; the pool settles it by reason.
    const source = sources[index];
    if (job.signal.aborted || !source) {
      readings.push({ ok: false, outcome: retryable('interrupted', 'The job was aborted.') });
      continue;
    }
    if (!source.ok) {
      readings.push({ ok: false, outcome: source.outcome });
      continue;
    }
    try {
      images.push(await decodeImage(source.bytes));
      imageOf.push(index);
      readings.push(undefined);
    } catch (error) {
      if (!(error instanceof ImageInputError)) throw error;
      job.logger.info({ code: error.code }, 'image refused');
      readings.push({ ok: false, outcome: fatal(error.code, error.message) });
    }
  }

  if (images.length > 0) {
    const startedMs = performance.now();
    const { results, stats } = await recognizeImages(ocr, images, options);
    const durationMs = Math.round(performance.now() - startedMs);
    logger.info({ ...stats, images: images.length, durationMs }, 'ocr batch read');
    results.forEach((result, n) => {
      readings[imageOf[n] as number] = { ok: true, ocr: result };
    });
  }
  return readings as JobReading[];
}
