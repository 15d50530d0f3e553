import type { Queryable } from '../db/database.ts';
import { submitJob } from '../jobs/submit-job.ts';
import type { QueueClasses } from '../queue/queue-classes.ts';
import {
  CATALOG_ITEM_COLUMNS,
  type CatalogItem,
  type CatalogItemRow,
  catalogItemFromRow,
  type NewCatalogItem,
} from './catalog-item.ts';
import { textureEmbedJobType } from './catalog-job-types.ts';

/**
 * Adds reference images to the caller's catalog. The API opens no model: each item is stored
 * with status `embedding` beside a `texture.embed` job of the caller's, in the transaction
 * `tx` (run it as the caller, so RLS checks the owner). When the pool settles the job, a
 * trigger stores the embedding on the item (`ready`) or the job's error (`failed`). Call
 * `requireVector` first: without pgvector there is nowhere to put the embedding.
 */
export async function addCatalogItems(
  tx: Queryable,
  classes: QueueClasses,
  ownerId: string,
  items: readonly NewCatalogItem[],
): Promise<CatalogItem[]> {
  const added: CatalogItem[] = [];
  for (const item of items) {
    const { job } = await submitJob(tx, classes, {
      type: textureEmbedJobType.type,
      payload: { imageBase64: item.imageBase64 },
      ownerId,
    });
    const [row] = await tx.query<CatalogItemRow>(
      `insert into public.catalog_items
         (owner_id, material_class, product_id, label, metadata, embed_job_id)
       values ($1, $2, $3, $4, $5, $6)
       returning ${CATALOG_ITEM_COLUMNS}`,
      [
        ownerId,
        item.materialClass,
        item.productId,
        item.label ?? null,
        item.metadata ?? {},
        job.id,
      ],
    );
    added.push(catalogItemFromRow(row as CatalogItemRow));
  }
  return added;
}
