import { z } from 'zod';
import {
  type ResolvedParameters,
  resolvedParametersSchema,
} from '../registry/resolve-parameters.ts';
import { type JobInput, jobInputSchema } from '../storage/job-input.ts';
import { inlineImageSchema } from './image-input.ts';

/** The most text `spec.extract` parses from one payload, in characters. */
export const MAX_SPEC_TEXT_CHARS = 100_000;

/**
 * The two ways an image job names its image: inline as base64 (`imageBase64`, checked at
 * submission), or as the job's input (`input`: an upload Kai stored, or a URL), which the pool
 * reads through its input reader. A payload gives exactly one of them.
 */
export const imageSourceFields = {
  imageBase64: inlineImageSchema.optional(),
  input: jobInputSchema.optional(),
};

/** Where an image job's image comes from, as its handler reads it. */
export interface ImageSource {
  imageBase64?: string | undefined;
  input?: JobInput | undefined;
}

/** True when a payload names its image exactly once, inline or as its input. */
export function hasOneImage(payload: ImageSource): boolean {
  return (payload.imageBase64 === undefined) !== (payload.input === undefined);
}

/** The issue of a payload that names its image twice or not at all. */
export const ONE_IMAGE_ERROR = 'expects exactly one of imageBase64 and input';

/**
 * `parameters` (a resolved registry set, see `resolveParameters`) for a job type the registry
 * tunes: its task must be `task` and its values must fit `values`, so a handler can trust the
 * set it reads. A payload that carries a set of another task or with values out of range is
 * refused at submission.
 */
export function taskParametersSchema(
  task: string,
  values: z.ZodType<Record<string, unknown>>,
): z.ZodType<ResolvedParameters> {
  return resolvedParametersSchema
    .refine((parameters) => parameters.task === task, {
      error: `expects parameters of the registry task ${task}`,
      path: ['task'],
    })
    .refine((parameters) => values.safeParse(parameters.values).success, {
      error: `expects values that fit the parameter space of ${task}`,
      path: ['values'],
    });
}

/** The values `spec.extract` reads from a registry set; each absent one keeps the default. */
export const specExtractValuesSchema = z.object({
  detThreshold: z.number().min(0).max(1).optional(),
  boxThreshold: z.number().min(0).max(1).optional(),
  unclipRatio: z.number().positive().max(10).optional(),
  maxSideLen: z.int().min(32).max(8192).optional(),
  recScoreMin: z.number().min(0).max(1).optional(),
});

/** The parameters a `spec.extract` job may carry, as `specExtractValuesSchema` reads them. */
export type SpecExtractValues = z.infer<typeof specExtractValuesSchema>;

/** The payload of `ocr.extract`: one image, inline as base64 or as the job's input. */
export const ocrExtractPayload = z
  .strictObject(imageSourceFields)
  .refine(hasOneImage, { error: ONE_IMAGE_ERROR });

/** What an `ocr.extract` job carries. */
export type OcrExtractPayload = z.infer<typeof ocrExtractPayload>;

/**
 * The payload of `spec.extract`: `text` (parsed as it is), or an image read by OCR first,
 * inline as `imageBase64` or as the job's `input`; exactly one of the three. `parameters`, a
 * resolved `spec.extract` registry set, tunes the OCR of an image; with `text` there is no
 * OCR, so they are recorded in the result and change nothing.
 */
export const specExtractPayload = z
  .strictObject({
    text: z.string().min(1).max(MAX_SPEC_TEXT_CHARS).optional(),
    ...imageSourceFields,
    parameters: taskParametersSchema('spec.extract', specExtractValuesSchema).optional(),
  })
  .refine(
    (payload) =>
      [payload.text, payload.imageBase64, payload.input].filter((v) => v !== undefined).length ===
      1,
    { error: 'expects exactly one of text, imageBase64 and input' },
  );

/** What a `spec.extract` job carries. */
export type SpecExtractPayload = z.infer<typeof specExtractPayload>;
