import { z } from 'zod';
import type { JobType } from '../jobs/job-types.ts';
import type { ResolvedParameters } from '../registry/resolve-parameters.ts';
import {
  hasOneImage,
  type ImageSource,
  imageSourceFields,
  ONE_IMAGE_ERROR,
  taskParametersSchema,
} from '../spec/job-payloads.ts';
import { TEXTURE_MODEL } from './texture-embedding.ts';

/** The most neighbours `material.classify` may vote over. */
export const MAX_CLASSIFY_NEIGHBOURS = 50;

/** How many neighbours `material.classify` votes over when neither payload nor set says. */
export const DEFAULT_CLASSIFY_NEIGHBOURS = 5;

/**
 * The values `texture.embed` reads from a registry set. Only `colorWeight` changes the
 * embedding; `patchSize`, `patchesPerImage` and `scales` are accepted (they are in the
 * registry's space) and reported as ignored: see the texture handler.
 */
export const textureEmbedValuesSchema = z.object({
  patchSize: z.number().optional(),
  patchesPerImage: z.number().optional(),
  scales: z.number().optional(),
  colorWeight: z.number().min(0).max(1).optional(),
});

/** The parameters a `texture.embed` job may carry, as `textureEmbedValuesSchema` reads them. */
export type TextureEmbedValues = z.infer<typeof textureEmbedValuesSchema>;

/**
 * What `texture.embed` takes: one PNG, JPEG or WebP image, inline as base64 or as the job's
 * input (an upload or a URL), exactly one of them; and optionally a resolved `texture.embed`
 * registry set as `parameters`.
 */
export interface TextureEmbedPayload extends ImageSource {
  parameters?: ResolvedParameters | undefined;
}

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
  parametersTask: 'texture.embed',
  payload: z
    .strictObject({
      ...imageSourceFields,
      parameters: taskParametersSchema('texture.embed', textureEmbedValuesSchema).optional(),
    })
    .refine(hasOneImage, { error: ONE_IMAGE_ERROR }),
};

/** The values `material.classify` reads from a registry set; each absent one keeps its default. */
export const materialClassifyValuesSchema = z.object({
  k: z.int().min(1).max(50).optional(),
  temperature: z.number().positive().max(100).optional(),
  minConfidence: z.number().min(0).max(1).optional(),
  vote: z.enum(['majority', 'similarity_weighted']).optional(),
});

/** The parameters a `material.classify` job may carry. */
export type MaterialClassifyValues = z.infer<typeof materialClassifyValuesSchema>;

/**
 * What `material.classify` takes: the image (inline or as the input) and how to vote. A field
 * given here wins over the same value of `parameters`, which wins over the built-in default.
 */
export interface MaterialClassifyPayload extends ImageSource {
  /** Neighbours that vote: this, else the set's `k`, else `DEFAULT_CLASSIFY_NEIGHBOURS`. */
  k?: number | undefined;
  /** Neighbours below this cosine similarity do not vote. */
  minSimilarity?: number | undefined;
  /** A resolved `material.classify` registry set: k, temperature, minConfidence, vote. */
  parameters?: ResolvedParameters | undefined;
}

/**
 * `material.classify`: embeds the image and lets the k nearest catalog items the submitter can
 * see vote for their material class, weighted by similarity (or one vote each).
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
  parametersTask: 'material.classify',
  payload: z
    .strictObject({
      ...imageSourceFields,
      k: z.int().min(1).max(MAX_CLASSIFY_NEIGHBOURS).optional(),
      minSimilarity: z.number().min(-1).max(1).optional(),
      parameters: taskParametersSchema(
        'material.classify',
        materialClassifyValuesSchema,
      ).optional(),
    })
    .refine(hasOneImage, { error: ONE_IMAGE_ERROR }) as z.ZodType<MaterialClassifyPayload>,
};
