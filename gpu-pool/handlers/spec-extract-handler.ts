import { JOB_TYPES } from '../../core/jobs/job-types.ts';
import {
  type SpecExtractPayload,
  type SpecExtractValues,
  specExtractValuesSchema,
} from '../../core/spec/job-payloads.ts';
import { parseSpecification } from '../../core/spec/parse-specification.ts';
import type { LoadedModel } from '../models/model-repository.ts';
import type { OcrOptions } from '../ocr/ocr-engine.ts';
import { type JobReading, readJobImages } from '../ocr/read-job-images.ts';
import type { HandlerJob, JobHandler, JobOutcome } from './handler.ts';
import { type ParametersUsed, parametersUsed } from './parameters-used.ts';

/**
 * Runs `spec.extract`: text payloads are parsed as they are; image payloads (inline, or the
 * job's input) are read by OCR first (the images of the batch together, or together per
 * registry set when jobs carry different `parameters`), their lines parsed with the OCR's
 * confidence in each. The result is the specification and, for images, the OCR text it was
 * read from; with `parameters`, the set's version and which values applied (none to text).
 */
export const specExtractHandler: JobHandler<SpecExtractPayload, LoadedModel> = {
  jobType: JOB_TYPES.get('spec.extract') as JobHandler<SpecExtractPayload>['jobType'],

  async run(jobs, context) {
    // Jobs with the same set version (or none) share one OCR pass.
    const groups = new Map<string, HandlerJob<SpecExtractPayload>[]>();
    for (const job of jobs) {
      if (job.payload.text !== undefined) continue;
      const key = job.payload.parameters?.versionId ?? '';
      const group = groups.get(key);
      if (group) group.push(job);
      else groups.set(key, [job]);
    }
    const readings = new Map<string, JobReading>();
    for (const group of groups.values()) {
      const options = ocrOptionsOf(valuesOf(group[0] as HandlerJob<SpecExtractPayload>));
      const read = await readJobImages(group, context, options);
      group.forEach((job, n) => {
        readings.set(job.id, read[n] as JobReading);
      });
    }

    return jobs.map((job): JobOutcome => {
      const parameters = recordOf(job);
      if (job.payload.text !== undefined) {
        return {
          ok: true,
          result: {
            source: 'text',
            specification: parseSpecification(job.payload.text),
            ...(parameters && { parameters }),
          },
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
          ...(parameters && { parameters }),
        },
      };
    });
  },
};

function valuesOf(job: HandlerJob<SpecExtractPayload>): SpecExtractValues {
  const set = job.payload.parameters;
  return set ? specExtractValuesSchema.parse(set.values) : {};
}

/** The registry's spec.extract values as the OCR engine's options; absent ones keep its own. */
export function ocrOptionsOf(values: SpecExtractValues): OcrOptions {
  const boxes = {
    ...(values.detThreshold !== undefined && { threshold: values.detThreshold }),
    ...(values.boxThreshold !== undefined && { boxThreshold: values.boxThreshold }),
    ...(values.unclipRatio !== undefined && { unclipRatio: values.unclipRatio }),
  };
  return {
    ...(values.maxSideLen !== undefined && { maxSideLen: values.maxSideLen }),
    ...(values.recScoreMin !== undefined && { minConfidence: values.recScoreMin }),
    ...(Object.keys(boxes).length > 0 && { boxes }),
  };
}

/** The record of the job's set: applied to an image's OCR, ignored for text (no OCR runs). */
function recordOf(job: HandlerJob<SpecExtractPayload>): ParametersUsed | undefined {
  const set = job.payload.parameters;
  if (!set) return undefined;
  const values: Record<string, unknown> = { ...valuesOf(job) };
  if (job.payload.text === undefined) return parametersUsed(set, values);
  const ignored = Object.fromEntries(
    Object.keys(values).map((name) => [name, 'the job gave text, so no OCR ran']),
  );
  return parametersUsed(set, {}, ignored);
}

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
