import { asJobOwner } from '../../core/catalog/as-job-owner.ts';
import {
  type MaterialClassifyPayload,
  materialClassifyJobType,
} from '../../core/catalog/catalog-job-types.ts';
import { nearestCatalogItems } from '../../core/catalog/nearest-items.ts';
import { voteMaterialClass } from '../../core/catalog/vote-material.ts';
import { detectCapabilities } from '../../core/db/capabilities.ts';
import { jobsImageBytes } from '../images/job-image-bytes.ts';
import type { LoadedModel } from '../models/model-repository.ts';
import { embedImages } from '../texture/embed-images.ts';
import { fatal, type JobHandler, type JobOutcome } from './handler.ts';

/**
 * Runs `material.classify`: embeds the batch's images through kai-texture-net in one
 * `session.run`, then per job finds the k nearest catalog items the submitter can see (as that
 * user, so RLS picks their own and the shared catalog) and lets them vote. The image is inline
 * or the job's input, read through the context's reader. Fails a job for good on an unreadable
 * image or input, on a database without pgvector and on an empty catalog.
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

      const neighbours = await asJobOwner(db, job.ownerId, (tx) =>
        nearestCatalogItems(tx, result.embedding, {
          k: job.payload.k,
          minSimilarity: job.payload.minSimilarity,
        }),
      );
      const vote = voteMaterialClass(neighbours);
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
          confidence: vote.confidence,
          votes: vote.votes,
          neighbours,
          model: model.name,
          version: model.version,
          embedding: result.embedding,
        },
      });
    }
    return outcomes;
  },
};
