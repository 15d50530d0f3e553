import { asJobOwner } from '../../core/catalog/as-job-owner.ts';
import {
  DEFAULT_CLASSIFY_NEIGHBOURS,
  type MaterialClassifyPayload,
  materialClassifyJobType,
  materialClassifyValuesSchema,
} from '../../core/catalog/catalog-job-types.ts';
import { nearestCatalogItems } from '../../core/catalog/nearest-items.ts';
import {
  VOTE_TEMPERATURE,
  type VoteOptions,
  voteMaterialClass,
} from '../../core/catalog/vote-material.ts';
import { detectCapabilities } from '../../core/db/capabilities.ts';
import { jobsImageBytes } from '../images/job-image-bytes.ts';
import type { LoadedModel } from '../models/model-repository.ts';
import { embedImages } from '../texture/embed-images.ts';
import { fatal, type JobHandler, type JobOutcome } from './handler.ts';
import { type ParametersUsed, parametersUsed } from './parameters-used.ts';

/**
 * Runs `material.classify`: embeds the batch's images through kai-texture-net in one
 * `session.run`, then per job finds the k nearest catalog items the submitter can see (as that
 * user, so RLS picks their own and the shared catalog) and lets them vote. The image is inline
 * or the job's input, read through the context's reader. Fails a job for good on an unreadable
 * image or input, on a database without pgvector and on an empty catalog. A registry set in
 * `parameters` sets k, the vote, its temperature and minConfidence (see `votingOf`); the
 * result then names the set's version.
 */
export const materialClassifyHandler: JobHandler<MaterialClassifyPayload, LoadedModel> = {
  jobType: materialClassifyJobType,

  async run(jobs, context) {
    const { model, db } = context;
    if (!model) throw new Error('The kai-texture-net model is not loaded.');
    if (!(await detectCapabilities(db)).vector) {
      return jobs.map(() =>
        fatal(
          'capability_unavailable',
          'material.classify needs the pgvector extension, which this database does not have.',
        ),
      );
    }

    const sources = await jobsImageBytes(jobs, context);
    const embedded = await embedImages(
      model,
      sources.flatMap((source) => (source.ok ? [source.bytes] : [])),
    );

    const outcomes: JobOutcome[] = [];
    let next = 0;
    for (const [i, job] of jobs.entries()) {
      const source = sources[i] as (typeof sources)[number];
      if (!source.ok) {
        outcomes.push(source.outcome);
        continue;
      }
      const result = embedded[next++];
      if (!result?.ok) {
        outcomes.push(fatal(result?.error.code ?? 'image_unreadable', `${result?.error.message}`));
        continue;
      }

      const voting = votingOf(job.payload);
      const neighbours = await asJobOwner(db, job.ownerId, (tx) =>
        nearestCatalogItems(tx, result.embedding, {
          k: voting.k,
          minSimilarity: job.payload.minSimilarity,
        }),
      );
      const vote = voteMaterialClass(neighbours, voting.vote);
      if (!vote) {
        outcomes.push(
          fatal(
            'catalog_empty',
            'No embedded catalog item is visible to this job’s owner' +
              (job.payload.minSimilarity === undefined ? '' : ' above minSimilarity') +
              '; add reference images with POST /v1/catalog/items and wait until they are ready.',
          ),
        );
        continue;
      }

      outcomes.push({
        ok: true,
        result: {
          materialClass: vote.materialClass,
          bestClass: vote.bestClass,
          confidence: vote.confidence,
          confident: vote.confident,
          votes: vote.votes,
          neighbours,
          model: model.name,
          version: model.version,
          embedding: result.embedding,
          ...(voting.parameters && { parameters: voting.parameters }),
        },
      });
    }
    return outcomes;
  },
};

/**
 * How a job votes. Each value comes from the payload's own field where it has one (only `k`
 * has), else from its registry set, else the built-in default: k 5, similarity-weighted,
 * temperature `VOTE_TEMPERATURE`, minConfidence 0 (always confident). The set's `temperature`
 * is relative to the built-in one (1 keeps it; the registry's space spans 0.01 to 10), as
 * kai-texture-net's similarities crowd near 1 and an absolute 1 would weigh all alike.
 */
function votingOf(payload: MaterialClassifyPayload): {
  k: number;
  vote: VoteOptions;
  parameters?: ParametersUsed;
} {
  const set = payload.parameters;
  const values = set ? materialClassifyValuesSchema.parse(set.values) : {};
  const k = payload.k ?? values.k ?? DEFAULT_CLASSIFY_NEIGHBOURS;
  const vote: VoteOptions = {
    vote: values.vote ?? 'similarity_weighted',
    temperature: VOTE_TEMPERATURE * (values.temperature ?? 1),
    minConfidence: values.minConfidence ?? 0,
  };
  if (!set) return { k, vote };

  const applied: Record<string, unknown> = { ...values };
  const ignored: Record<string, string> = {};
  if (payload.k !== undefined && values.k !== undefined) {
    delete applied.k;
    ignored.k = `the payload's k (${payload.k}) wins over the set's`;
  }
  if (values.vote === 'majority' && values.temperature !== undefined) {
    delete applied.temperature;
    ignored.temperature = 'a majority vote counts every neighbour once';
  }
  return { k, vote, parameters: parametersUsed(set, applied, ignored) };
}
