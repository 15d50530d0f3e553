import { z } from 'zod';
import type { JobType } from '../jobs/job-types.ts';
import { inlineImageSchema } from '../spec/image-input.ts';
import { hasOneImage, imageSourceFields, ONE_IMAGE_ERROR } from '../spec/job-payloads.ts';

/** The model `pattern.match` runs; its weights are supplied at deploy, none ship with Kai. */
export const PATTERN_MODEL = 'pattern-clip';

/** The most candidates one job may rank. */
export const MAX_PATTERN_TEXTS = 64;
export const MAX_PATTERN_IMAGES = 16;

const text = z.string().trim().min(1).max(300);

/**
 * What `pattern.match` takes: an image to rank texts for (inline as `imageBase64` or as the
 * job's `input`, exactly one), or a text to rank images for (inline only: a job has one input,
 * and this direction takes many images).
 */
export const patternMatchPayloadSchema = z.discriminatedUnion('direction', [
  z
    .strictObject({
      direction: z.literal('image-to-text'),
      ...imageSourceFields,
      texts: z.array(text).min(1).max(MAX_PATTERN_TEXTS),
      topK: z.int().min(1).max(MAX_PATTERN_TEXTS).optional(),
    })
    .refine(hasOneImage, { error: ONE_IMAGE_ERROR }),
  z.strictObject({
    direction: z.literal('text-to-image'),
    text,
    imagesBase64: z.array(inlineImageSchema).min(1).max(MAX_PATTERN_IMAGES),
    topK: z.int().min(1).max(MAX_PATTERN_IMAGES).optional(),
  }),
]);

/** A `pattern.match` payload. */
export type PatternMatchPayload = z.infer<typeof patternMatchPayloadSchema>;

/**
 * `pattern.match`: CLIP-style matching of a pattern image against texts or of a text against
 * pattern images, ranked by cosine similarity of a CLIP image and text encoder pair loaded
 * from MODEL_DIR. Refused with `model_unavailable` while pools run without those weights.
 */
export const patternMatchJobType: JobType<PatternMatchPayload> = {
  type: 'pattern.match',
  description:
    'Ranks texts for a pattern image, or pattern images for a text, with a CLIP-style image ' +
    'and text encoder pair (pattern-clip in MODEL_DIR). No weights ship with Kai: supply ' +
    'them at deploy, or the type is unavailable.',
  queue: 'interactive',
  model: PATTERN_MODEL,
  payload: patternMatchPayloadSchema,
  refuseWithoutReadyModel: true,
  takesInput: 'image',
};
