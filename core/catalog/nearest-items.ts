import type { Queryable } from '../db/database.ts';
import { vectorLiteral } from './texture-embedding.ts';

/** A catalog item near a query embedding. */
export interface CatalogNeighbour {
  itemId: string;
  productId: string;
  materialClass: string;
  label: string | null;
  /** True for an item of the shared reference catalog rather than the caller's own. */
  shared: boolean;
  /** Cosine similarity to the query, in [-1, 1]. */
  similarity: number;
}

/** How many neighbours `nearestCatalogItems` may return. */
export const MAX_NEIGHBOURS = 100;

/**
 * The `k` embedded catalog items nearest to `embedding` by cosine, through the HNSW index,
 * among the rows `tx` may see (run it as the user: RLS chooses the catalog). Needs pgvector;
 * check `requireVector` first.
 */
export async function nearestCatalogItems(
  tx: Queryable,
  embedding: readonly number[],
  options: { k: number; excludeItemId?: string | undefined; minSimilarity?: number | undefined },
): Promise<CatalogNeighbour[]> {
  const k = Math.max(1, Math.min(MAX_NEIGHBOURS, Math.floor(options.k)));

  // Limitation: an HNSW scan that filters (RLS, status) can return fewer than k rows when the
  // visible items are a small part of a large table; ef_search (40) bounds what one scan sees.
  const rows = await tx.query<{
    id: string;
    product_id: string;
    material_class: string;
    label: string | null;
    shared: boolean;
    similarity: number;
  }>(
    `select id, product_id, material_class, label, owner_id is null as shared,
            (1 - (embedding operator(extensions.<=>) $1::extensions.vector))::float8
              as similarity
     from public.catalog_items
     where status = 'ready' and embedding is not null
       and ($3::uuid is null or id <> $3::uuid)
     order by embedding operator(extensions.<=>) $1::extensions.vector
     limit $2`,
    [vectorLiteral(embedding), k, options.excludeItemId ?? null],
  );

  const minimum = options.minSimilarity ?? -1;
  return rows
    .map((row) => ({
      itemId: row.id,
      productId: row.product_id,
      materialClass: row.material_class,
      label: row.label,
      shared: row.shared,
      similarity: Number(row.similarity),
    }))
    .filter((neighbour) => neighbour.similarity >= minimum);
}
