import { asJobOwner } from '../../core/catalog/as-job-owner.ts';
import {
  type MaterialClassifyPayload,
  materialClassifyJobType,
} from '../../core/catalog/catalog-job-types.ts';
import { nearestCatalogItems } from '../../core/catalog/nearest-items.ts';
import { voteMaterialClass } from '../../core/catalog/vote-material.ts';
import { detectCapabilities } from '../../core/db/capabilities.ts';
import type { LoadedModel } from '../models/model-repository.ts';
import { embedImages } from '../texture/embed-images.ts';
import { fatal, type JobHandler, type JobOutcome } from './handler.ts';

/**
 * Runs `material.classify`: embeds the batch's images through kai-texture-net in one
 * `session.run`, then per job finds the k nearest catalog items the submitter can see (as that
 * user, so RLS picks their own and the shared catalog) and lets them vote. Fails a job for good
 * on an unreadable image, on a database without pgvector and on an empty catalog.
 */
export const materialClassifyHandler: JobHandler<MaterialClassifyPayload, LoadedModel> = {
  jobType: materialClassifyJobType,

  async run(jobs, { model, db }) {
    if (!model) throw new Error('The kai-texture-net model is not loaded.');
    if (!(await detectCapabilities(db)).vector) {
      return jobs.map(() =>
        fatal(
          'capability_unavailable',
          'material.classify needs the pgvector extension, which this database does not have.',
        ),
      );
    }

    const images = jobs.map((job) => Buffer.from(job.payload.imageBase64, 'base64'));
    const embedded = await embedImages(model, images);

    const outcomes: JobOutcome[] = [];
    for (const [i, job] of jobs.entries()) {
      const result = embedded[i];
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
