import { JOB_TYPES } from '../../core/jobs/job-types.ts';
import type { OcrExtractPayload } from '../../core/spec/job-payloads.ts';
import type { LoadedModel } from '../models/model-repository.ts';
import { readJobImages } from '../ocr/read-job-images.ts';
import type { JobHandler } from './handler.ts';

/**
 * Runs `ocr.extract` on the `paddleocr` model: every image of the batch (inline, or the job's
 * input) detected, every text line of the batch recognized together. The result is the
 * image's size, its lines (text, confidence, four-corner box, reading order, row) and the page
 * text in reading order.
 */
export const ocrExtractHandler: JobHandler<OcrExtractPayload, LoadedModel> = {
  jobType: JOB_TYPES.get('ocr.extract') as JobHandler<OcrExtractPayload>['jobType'],

  async run(jobs, context) {
    const readings = await readJobImages(jobs, context);
    return readings.map((reading) =>
      reading.ok ? { ok: true, result: reading.ocr } : reading.outcome,
    );
  },
};
