import { z } from 'zod';
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

/** The payload of `ocr.extract`: one image, inline as base64 or as the job's input. */
export const ocrExtractPayload = z
  .strictObject(imageSourceFields)
  .refine(hasOneImage, { error: ONE_IMAGE_ERROR });

/** What an `ocr.extract` job carries. */
export type OcrExtractPayload = z.infer<typeof ocrExtractPayload>;

/**
 * The payload of `spec.extract`: `text` (parsed as it is), or an image read by OCR first,
 * inline as `imageBase64` or as the job's `input`; exactly one of the three.
 */
export const specExtractPayload = z
  .strictObject({
    text: z.string().min(1).max(MAX_SPEC_TEXT_CHARS).optional(),
    ...imageSourceFields,
  })
  .refine(
    (payload) =>
      [payload.text, payload.imageBase64, payload.input].filter((v) => v !== undefined).length ===
      1,
    { error: 'expects exactly one of text, imageBase64 and input' },
  );

/** What a `spec.extract` job carries. */
export type SpecExtractPayload = z.infer<typeof specExtractPayload>;
