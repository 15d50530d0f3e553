import { z } from 'zod';
import { inlineImageSchema } from './image-input.ts';

/** The most text `spec.extract` parses from one payload, in characters. */
export const MAX_SPEC_TEXT_CHARS = 100_000;

// Limitation: images come inline only; inputs stored through the API's storage port
// (`payload.input`) need the storage port in the handler context, which the pool lacks yet.
/** The payload of `ocr.extract`: one image, inline as base64. */
export const ocrExtractPayload = z.strictObject({
  imageBase64: inlineImageSchema,
});

/** What an `ocr.extract` job carries. */
export type OcrExtractPayload = z.infer<typeof ocrExtractPayload>;

/**
 * The payload of `spec.extract`: either `text` (parsed as it is) or `imageBase64` (read by
 * OCR first), exactly one of them.
 */
export const specExtractPayload = z
  .strictObject({
    text: z.string().min(1).max(MAX_SPEC_TEXT_CHARS).optional(),
    imageBase64: inlineImageSchema.optional(),
  })
  .refine((payload) => (payload.text === undefined) !== (payload.imageBase64 === undefined), {
    error: 'expects exactly one of text and imageBase64',
  });

/** What a `spec.extract` job carries. */
export type SpecExtractPayload = z.infer<typeof specExtractPayload>;
