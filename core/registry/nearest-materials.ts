import type { DatabaseCapabilities } from '../db/capabilities.ts';
import type { Queryable } from '../db/database.ts';
import { FLOAT8_ARRAY_OF } from './material-types.ts';

/** A material near another, by the cosine similarity of their property vectors. */
export interface Neighbour {
  materialId: string;
  slug: string;
  name: string;
  category: string;
  similarity: number;
}

/** How the neighbours were found. */
export type SearchMethod = 'hnsw' | 'exact';

export interface NearestOptions {
  vector: readonly number[];
  limit: number;
  minSimilarity: number;
  excludeId?: string | undefined;
}

/**
 * The materials nearest to `vector`, most similar first, at least `minSimilarity` alike.
 * With pgvector: the HNSW index on `property_embedding` (cosine). Without it (Debian's
 * Postgres): an exact scan in SQL over the 8-number property vectors, which is both exact and
 * fast at registry sizes (thousands of materials), so users get the same answers instead of a
 * `capability_unavailable`.
 *
 * Limitation: HNSW is approximate; `npm run bench:similar` measures its recall against the
 * exact scan. The `limit` nearest are found first and the threshold applied after.
 *
 * Limitation: only the property vector is compared; a material's texture embedding is stored
 * and returned but not blended into the similarity, since its dimension depends on the
 * texture network that made it and an HNSW index needs one fixed vector.
 */
export async function nearestMaterials(
  db: Queryable,
  capabilities: DatabaseCapabilities,
  options: NearestOptions,
): Promise<{ method: SearchMethod; neighbours: Neighbour[] }> {
  const params = [{ v: options.vector }, options.limit, options.excludeId ?? null];
  const method: SearchMethod = capabilities.vector ? 'hnsw' : 'exact';

  const query =
    method === 'hnsw'
      ? `with q as (select ${FLOAT8_ARRAY_OF('$1')}::extensions.vector(8) as e)
         select m.id, m.slug, m.name, m.category,
                1 - (m.property_embedding operator(extensions.<=>) q.e) as similarity
         from public.material_types m, q
         where $3::uuid is null or m.id <> $3::uuid
         order by m.property_embedding operator(extensions.<=>) q.e
         limit $2`
      : `with q as (select ${FLOAT8_ARRAY_OF('$1')} as v),
         qn as (select v, sqrt((select sum(x * x) from unnest(v) x)) as norm from q)
         select m.id, m.slug, m.name, m.category,
                (select sum(a * b) from unnest(m.property_vector, qn.v) as u(a, b))
                  / nullif(sqrt((select sum(x * x) from unnest(m.property_vector) x)) * qn.norm, 0)
                  as similarity
         from public.material_types m, qn
         where $3::uuid is null or m.id <> $3::uuid
         order by similarity desc nulls last, m.slug
         limit $2`;

  const rows = await db.query<{
    id: string;
    slug: string;
    name: string;
    category: string;
    similarity: number | null;
  }>(query, params);
  const neighbours = rows
    .filter((r) => r.similarity !== null && Number(r.similarity) >= options.minSimilarity)
    .map((r) => ({
      materialId: r.id,
      slug: r.slug,
      name: r.name,
      category: r.category,
      similarity: Math.round(Number(r.similarity) * 1e6) / 1e6,
    }));
  return { method, neighbours };
}
