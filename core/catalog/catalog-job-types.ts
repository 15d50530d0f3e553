import { z } from 'zod';
import type { JobType } from '../jobs/job-types.ts';
import {
  hasOneImage,
  type ImageSource,
  imageSourceFields,
  ONE_IMAGE_ERROR,
} from '../spec/job-payloads.ts';
import { TEXTURE_MODEL } from './texture-embedding.ts';

/** The most neighbours `material.classify` may vote over. */
export const MAX_CLASSIFY_NEIGHBOURS = 50;

/**
 * What `texture.embed` takes: one PNG, JPEG or WebP image, inline as base64 or as the job's
 * input (an upload or a URL), exactly one of them.
 */
export type TextureEmbedPayload = ImageSource;

/** `texture.embed`: an image to its kai-texture-net embedding. */
export const textureEmbedJobType: JobType<TextureEmbedPayload> = {
  type: 'texture.embed',
  description:
    'Embeds an image with kai-texture-net (Kai’s own computed, untrained Gabor-energy and ' +
    'colour descriptor): a unit-length vector for similarity search, plus the energy per ' +
    'orientation. Catalog items are embedded by these jobs.',
  queue: 'batch',
  model: TEXTURE_MODEL,
  takesInput: 'image',
  payload: z.strictObject(imageSourceFields).refine(hasOneImage, { error: ONE_IMAGE_ERROR }),
};

/** What `material.classify` takes: the image (inline or as the input) and how to vote. */
export interface MaterialClassifyPayload extends ImageSource {
  /** Neighbours that vote. */
  k: number;
  /** Neighbours below this cosine similarity do not vote. */
  minSimilarity?: number | undefined;
}

/**
 * `material.classify`: embeds the image and lets the k nearest catalog items the submitter can
 * see vote for their material class, weighted by similarity.
 */
export const materialClassifyJobType: JobType<MaterialClassifyPayload> = {
  type: 'material.classify',
  description:
    'Classifies the material in an image by a similarity-weighted vote of its k nearest ' +
    'catalog items (kai-texture-net embeddings, pgvector); answers the class, a confidence ' +
    'and the neighbours. Needs pgvector and an embedded catalog.',
  queue: 'interactive',
  model: TEXTURE_MODEL,
  needsVector: true,
  takesInput: 'image',
  payload: z
    .strictObject({
      ...imageSourceFields,
      k: z.int().min(1).max(MAX_CLASSIFY_NEIGHBOURS).default(5),
      minSimilarity: z.number().min(-1).max(1).optional(),
    })
    .refine(hasOneImage, { error: ONE_IMAGE_ERROR }) as z.ZodType<MaterialClassifyPayload>,
};
