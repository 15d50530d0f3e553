import { JOB_TYPES } from '../../core/jobs/job-types.ts';
import type { SpecExtractPayload } from '../../core/spec/job-payloads.ts';
import { parseSpecification } from '../../core/spec/parse-specification.ts';
import type { LoadedModel } from '../models/model-repository.ts';
import { type JobReading, readJobImages } from '../ocr/read-job-images.ts';
import type { JobHandler, JobOutcome } from './handler.ts';

/**
 * Runs `spec.extract`: text payloads are parsed as they are; image payloads (inline, or the
 * job's input) are read by OCR first (the images of the batch together), their lines parsed
 * with the OCR's confidence in each. The result is the specification and, for images, the
 * OCR text it was read from.
 */
export const specExtractHandler: JobHandler<SpecExtractPayload, LoadedModel> = {
  jobType: JOB_TYPES.get('spec.extract') as JobHandler<SpecExtractPayload>['jobType'],

  async run(jobs, context) {
    const imageJobs = jobs.filter((job) => job.payload.text === undefined);
    const readings = new Map<string, JobReading>();
    if (imageJobs.length > 0) {
      const read = await readJobImages(imageJobs, context);
      imageJobs.forEach((job, n) => {
        readings.set(job.id, read[n] as JobReading);
      });
    }

    return jobs.map((job): JobOutcome => {
      if (job.payload.text !== undefined) {
        return {
          ok: true,
          result: { source: 'text', specification: parseSpecification(job.payload.text) },
        };
      }
      const reading = readings.get(job.id) as JobReading;
      if (!reading.ok) return reading.outcome;
      const lines = reading.ocr.lines.map((line) => ({
        text: line.text,
        confidence: line.confidence,
      }));
      return {
        ok: true,
        result: {
          source: 'image',
          specification: parseSpecification(rowsOf(reading.ocr.lines, lines)),
          ocr: { text: reading.ocr.text, lines: reading.ocr.lines.length },
        },
      };
    });
  },
};

/** The OCR lines joined row by row (label and value columns make one row), each row's
 * confidence the lowest of its lines. */
function rowsOf(
  ocrLines: readonly { row: number }[],
  lines: readonly { text: string; confidence: number }[],
): { text: string; confidence: number }[] {
  const rows: { text: string; confidence: number }[] = [];
  ocrLines.forEach((ocrLine, i) => {
    const line = lines[i] as { text: string; confidence: number };
    const row = rows[ocrLine.row];
    if (row) {
      row.text = `${row.text} ${line.text}`;
      row.confidence = Math.min(row.confidence, line.confidence);
    } else {
      rows[ocrLine.row] = { ...line };
    }
  });
  return rows.filter((row) => row !== undefined);
}
