import {
  type TextureEmbedPayload,
  textureEmbedJobType,
  textureEmbedValuesSchema,
} from '../../core/catalog/catalog-job-types.ts';
import { jobsImageBytes } from '../images/job-image-bytes.ts';
import type { LoadedModel } from '../models/model-repository.ts';
import { withColourWeight } from '../texture/colour-weight.ts';
import { embedImages } from '../texture/embed-images.ts';
import { summariseOrientation } from '../texture/orientation-summary.ts';
import { fatal, type HandlerJob, type JobHandler, type JobOutcome } from './handler.ts';
import { type ParametersUsed, parametersUsed } from './parameters-used.ts';

/**
 * Runs `texture.embed`: reads each job's image (inline, or its input through the context's
 * reader), embeds the batch through kai-texture-net in one `session.run` and answers the
 * embedding with its orientation summary. An image that cannot be decoded fails its own job for
 * good (`image_empty`, `image_unreadable`, `image_too_large`), and an input that cannot be read
 * with the reader's code; the others of the batch go on. A registry set in `parameters` may
 * reweigh the colour block (`colorWeight`); its other values are recorded as ignored (see
 * `embeddingParameters`), and the result names the set's version.
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
    return sources.map((source, i): JobOutcome => {
      if (!source.ok) return source.outcome;
      const result = results[next++] as (typeof results)[number];
      if (!result.ok) return fatal(result.error.code, result.error.message);
      const tuning = embeddingParameters(jobs[i] as HandlerJob<TextureEmbedPayload>);
      const embedding =
        tuning.colourWeight === undefined
          ? result.embedding
          : withColourWeight(result.embedding, tuning.colourWeight);
      return {
        ok: true,
        result: {
          model: model.name,
          version: model.version,
          dims: embedding.length,
          embedding,
          orientation: summariseOrientation(result.orientationEnergy),
          ...(tuning.parameters && { parameters: tuning.parameters }),
        },
      };
    });
  },
};

// Limitation: of the registry's texture.embed space only colorWeight is a knob of
// kai-texture-net. patchSize, patchesPerImage and scales describe a patch-sampling embedder
// Kai does not have: the net takes one 128 px centre crop of the whole image and its Gabor
// bank runs at 3 fixed levels, baked into the generated graph (a change is a new model
// version). They are accepted and recorded as ignored, never faked.
const IGNORED_TEXTURE_VALUES: Record<string, string> = {
  patchSize: 'kai-texture-net embeds one 128 px centre crop, not patches',
  patchesPerImage: 'kai-texture-net embeds one 128 px centre crop, not patches',
  scales: 'kai-texture-net runs its Gabor bank at 3 fixed levels, set in the graph',
};

/**
 * What a job's set changes: `colorWeight` reweighs the colour block against texture (0.5 is
 * the net's own). Such an embedding is not comparable to catalog embeddings, made at 0.5.
 */
function embeddingParameters(job: HandlerJob<TextureEmbedPayload>): {
  colourWeight?: number;
  parameters?: ParametersUsed;
} {
  const set = job.payload.parameters;
  if (!set) return {};
  const values = textureEmbedValuesSchema.parse(set.values);
  const ignored = Object.fromEntries(
    Object.keys(values)
      .filter((name) => name in IGNORED_TEXTURE_VALUES)
      .map((name) => [name, IGNORED_TEXTURE_VALUES[name] as string]),
  );
  const applied = values.colorWeight === undefined ? {} : { colorWeight: values.colorWeight };
  return {
    ...(values.colorWeight !== undefined && { colourWeight: values.colorWeight }),
    parameters: parametersUsed(set, applied, ignored),
  };
}
