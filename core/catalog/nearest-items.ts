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
 * among the rows `tx` may see (run it as the user: RLS chooses the catalog). `tx` must be a
 * transaction (the scan setting is local to it). Needs pgvector; check `requireVector` first.
 */
export async function nearestCatalogItems(
  tx: Queryable,
  embedding: readonly number[],
  options: { k: number; excludeItemId?: string | undefined; minSimilarity?: number | undefined },
): Promise<CatalogNeighbour[]> {
  const k = Math.max(1, Math.min(MAX_NEIGHBOURS, Math.floor(options.k)));

  // RLS and the status filter apply after the HNSW scan; pgvector 0.8's iterative scans keep
  // scanning until k rows pass, instead of stopping at ef_search (40) candidates.
  // Limitation: on pgvector before 0.8 a filtered scan can return fewer than k rows when the
  // visible items are a small part of a large table.
  await tx.query(
    `select set_config('hnsw.iterative_scan', 'strict_order', true)
     where (select string_to_array(extversion, '.')::int[] >= '{0,8}'
            from pg_extension where extname = 'vector')`,
  );
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
