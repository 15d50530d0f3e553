import type { Queryable } from '../db/database.ts';
import { NotFoundError, ValidationError } from '../errors.ts';
import { type CatalogNeighbour, nearestCatalogItems } from './nearest-items.ts';
import { parseVector, textureEmbeddingSchema } from './texture-embedding.ts';

/** What to find neighbours of: a catalog item, or a finished job that returned an embedding. */
export type SimilarTo = { itemId: string } | { jobId: string };

/** The neighbours and what they are near. */
export interface SimilarItems {
  source: { kind: 'item'; itemId: string } | { kind: 'job'; jobId: string; type: string };
  neighbours: CatalogNeighbour[];
}

/** Job types whose results carry a texture embedding. */
const EMBEDDING_JOB_TYPES = ['texture.embed', 'material.classify'];

/**
 * The `k` catalog items nearest to an item or to a finished job's embedding, among those `tx`
 * may see (run as the caller: an item or job of someone else is not found). Needs pgvector.
 */
export async function findSimilarItems(
  tx: Queryable,
  to: SimilarTo,
  k: number,
): Promise<SimilarItems> {
  if ('itemId' in to) {
    const [item] = await tx.query<{ status: string; embedding: string | null }>(
      'select status, embedding::text as embedding from public.catalog_items where id = $1',
      [to.itemId],
    );
    if (!item) throw new NotFoundError(`No catalog item ${to.itemId}.`);
    if (item.status !== 'ready' || item.embedding === null) {
      throw new ValidationError(`Catalog item ${to.itemId} is not embedded yet (${item.status}).`, [
        { path: 'query.itemId', message: `the item is ${item.status}, not ready` },
      ]);
    }
    const neighbours = await nearestCatalogItems(tx, parseVector(item.embedding), {
      k,
      excludeItemId: to.itemId,
    });
    return { source: { kind: 'item', itemId: to.itemId }, neighbours };
  }

  const [job] = await tx.query<{ type: string; status: string; result: unknown }>(
    'select type, status, result from public.jobs where id = $1',
    [to.jobId],
  );
  if (!job) throw new NotFoundError(`No job ${to.jobId}.`);
  const embedding = textureEmbeddingSchema.safeParse(
    (job.result as { embedding?: unknown } | null)?.embedding,
  );
  if (!EMBEDDING_JOB_TYPES.includes(job.type) || job.status !== 'completed' || !embedding.success) {
    throw new ValidationError(
      `Job ${to.jobId} has no texture embedding: it is a ${job.status} ${job.type} job.`,
      [
        {
          path: 'query.jobId',
          message: `expects a completed ${EMBEDDING_JOB_TYPES.join(' or ')} job`,
        },
      ],
    );
  }
  const neighbours = await nearestCatalogItems(tx, embedding.data, { k });
  return { source: { kind: 'job', jobId: to.jobId, type: job.type }, neighbours };
}
