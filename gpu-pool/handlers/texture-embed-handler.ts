import type { TextureEmbedPayload } from '../../core/catalog/catalog-job-types.ts';
import { textureEmbedJobType } from '../../core/catalog/catalog-job-types.ts';
import { jobsImageBytes } from '../images/job-image-bytes.ts';
import type { LoadedModel } from '../models/model-repository.ts';
import { embedImages } from '../texture/embed-images.ts';
import { summariseOrientation } from '../texture/orientation-summary.ts';
import { fatal, type JobHandler, type JobOutcome } from './handler.ts';

/**
 * Runs `texture.embed`: reads each job's image (inline, or its input through the context's
 * reader), embeds the batch through kai-texture-net in one `session.run` and answers the
 * embedding with its orientation summary. An image that cannot be decoded fails its own job for
 * good (`image_empty`, `image_unreadable`, `image_too_large`), and an input that cannot be read
 * with the reader's code; the others of the batch go on.
 */
export const textureEmbedHandler: JobHandler<TextureEmbedPayload, LoadedModel> = {
  jobType: textureEmbedJobType,

  async run(jobs, context) {
    const { model } = context;
    if (!model) throw new Error('The kai-texture-net model is not loaded.');
    const sources = await jobsImageBytes(jobs, context);
    const results = await embedImages(
      model,
      sources.flatMap((source) => (source.ok ? [source.bytes] : [])),
    );

    let next = 0;
    return sources.map((source): JobOutcome => {
      if (!source.ok) return source.outcome;
      const result = results[next++] as (typeof results)[number];
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
