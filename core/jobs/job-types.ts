import { z } from 'zod';
import { materialClassifyJobType, textureEmbedJobType } from '../catalog/catalog-job-types.ts';
import { patternMatchJobType } from '../catalog/pattern-match-job-type.ts';
import { KaiError } from '../errors.ts';
import {
  type ResolvedParameters,
  resolvedParametersSchema,
} from '../registry/resolve-parameters.ts';
import {
  type OcrExtractPayload,
  ocrExtractPayload,
  type SpecExtractPayload,
  specExtractPayload,
} from '../spec/job-payloads.ts';
import { type JobInput, jobInputSchema } from '../storage/job-input.ts';

/**
 * What Kai knows of a job type wherever it runs: the API validates submissions with it, the
 * pool claims and batches by it. The code that runs a type lives in `gpu-pool/handlers/`.
 */
export interface JobType<Payload = unknown> {
  type: string;
  description: string;
  /** The queue class its jobs go to unless the submitter picks another. */
  queue: string;
  /** The model in the repository it runs, or null for work without a model. */
  model: string | null;
  payload: z.ZodType<Payload>;
  /** True when its jobs need pgvector: refused with `capability_unavailable` without it. */
  needsVector?: boolean;
  /**
   * True when a submission must be refused (`model_unavailable`) while pools run and none
   * serves its model, rather than wait: for models whose weights do not ship with Kai.
   */
  refuseWithoutReadyModel?: boolean;
  /**
   * What the type takes as its input (`payload.input`: an upload Kai stored, or a URL): `any`
   * bytes, or an `image` (PNG, JPEG or WebP; an upload's header is checked at submission).
   * Unset, it takes none: a submission with an input is refused before anything is stored.
   */
  takesInput?: 'any' | 'image';
  /**
   * The registry task whose parameter sets tune this type: a submission naming `parameters`
   * of another task is refused (`parameters_task_mismatch`). Unset, the type is tuned by none.
   */
  parametersTask?: string;
}

const noop: JobType<{
  sleepMs?: number | undefined;
  input?: JobInput | undefined;
  parameters?: ResolvedParameters | undefined;
}> = {
  type: 'noop',
  description:
    'Does nothing (optionally for sleepMs) and ignores its input; for health checks, queue ' +
    'benchmarks and checking uploads end to end.',
  queue: 'maintenance',
  model: null,
  takesInput: 'any',
  payload: z.strictObject({
    sleepMs: z.number().int().min(0).max(600_000).optional(),
    input: jobInputSchema.optional(),
    parameters: resolvedParametersSchema.optional(),
  }),
};

const SYNTHETIC_MLP_INPUTS = 256;

const syntheticMlp: JobType<{ input: number[] }> = {
  type: 'synthetic.mlp',
  description:
    'Runs the generated synthetic-mlp model (random computed weights, not a recognizer) on one ' +
    '256-value vector; exercises the pool, its batching and its benchmarks.',
  queue: 'batch',
  model: 'synthetic-mlp',
  payload: z.strictObject({
    input: z.array(z.number().finite()).length(SYNTHETIC_MLP_INPUTS),
  }),
};

const ocrExtract: JobType<OcrExtractPayload> = {
  type: 'ocr.extract',
  description:
    'Reads the text of one PNG, JPEG or WebP image (inline, uploaded or by URL) with ' +
    'PaddleOCR v4 (detection, then recognition of every text line): lines with their ' +
    'four-corner boxes, confidences and reading order.',
  queue: 'interactive',
  model: 'paddleocr',
  takesInput: 'image',
  payload: ocrExtractPayload,
};

// Limitation: a job type names one model, so text-only spec.extract jobs also wait for a pool
// that serves paddleocr, though they run no model.
const specExtract: JobType<SpecExtractPayload> = {
  type: 'spec.extract',
  description:
    'Extracts the specification of a material product (material, dimensions in mm, ' +
    'thickness, finish, PEI class, slip rating, DCOF, water absorption, frost resistance, ' +
    'colour, standards cited) from text, or from an image (inline, uploaded or by URL) read ' +
    'by OCR first; each field with its source text and a confidence.',
  queue: 'interactive',
  model: 'paddleocr',
  takesInput: 'image',
  parametersTask: 'spec.extract',
  payload: specExtractPayload,
};

/** Every job type Kai runs, in one place. */
export const JOB_TYPES: ReadonlyMap<string, JobType> = new Map(
  [
    noop,
    syntheticMlp,
    ocrExtract,
    specExtract,
    textureEmbedJobType as JobType,
    materialClassifyJobType as JobType,
    patternMatchJobType as JobType,
  ].map((t) => [t.type, t as JobType]),
);

/** A submission named a job type Kai does not run. */
export class UnknownJobTypeError extends KaiError {
  constructor(type: string) {
    super(
      {
        code: 'unknown_job_type',
        status: 422,
        title: 'Unknown job type',
        detail: `Kai runs no job type ${JSON.stringify(type)}; GET /v1/models lists those it runs.`,
      },
      { extensions: { types: [...JOB_TYPES.keys()] } },
    );
  }
}

/** The definition of `type`, or `UnknownJobTypeError`. */
export function jobTypeOf(type: string): JobType {
  const definition = JOB_TYPES.get(type);
  if (!definition) throw new UnknownJobTypeError(type);
  return definition;
}
