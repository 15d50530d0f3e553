import type { TextureEmbedPayload } from '../../core/catalog/catalog-job-types.ts';
import { textureEmbedJobType } from '../../core/catalog/catalog-job-types.ts';
import type { LoadedModel } from '../models/model-repository.ts';
import { embedImages } from '../texture/embed-images.ts';
import { summariseOrientation } from '../texture/orientation-summary.ts';
import { fatal, type JobHandler, type JobOutcome } from './handler.ts';

/**
 * Runs `texture.embed`: decodes each job's image, embeds the batch through kai-texture-net in
 * one `session.run` and answers the embedding with its orientation summary. An image that
 * cannot be decoded fails its own job for good (`image_empty`, `image_unreadable`,
 * `image_too_large`); the others of the batch go on.
 */
export const textureEmbedHandler: JobHandler<TextureEmbedPayload, LoadedModel> = {
  jobType: textureEmbedJobType,

  async run(jobs, { model }) {
    if (!model) throw new Error('The kai-texture-net model is not loaded.');
    const images = jobs.map((job) => Buffer.from(job.payload.imageBase64, 'base64'));
    const results = await embedImages(model, images);

    return results.map((result): JobOutcome => {
      if (!result.ok) return fatal(result.error.code, result.error.message);
      return {
        ok: true,
        result: {
          model: model.name,
          version: model.version,
          dims: result.embedding.length,
          embedding: result.embedding,
          orientation: summariseOrientation(result.orientationEnergy),
        },
      };
    });
  },
};
