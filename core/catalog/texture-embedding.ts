import { z } from 'zod';

/**
 * Width of a `kai-texture-net` v1 embedding, and of the `vector` column that stores it. A net
 * of another width needs a migration and a re-embedding of the catalog.
 */
export const TEXTURE_EMBEDDING_DIMS = 54;

/** The model whose embeddings the catalog stores; its jobs run in the pool. */
export const TEXTURE_MODEL = 'kai-texture-net';

/** A unit-length texture embedding as jobs return it and the catalog stores it. */
export const textureEmbeddingSchema = z.array(z.number().finite()).length(TEXTURE_EMBEDDING_DIMS, {
  error: `expects ${TEXTURE_EMBEDDING_DIMS} numbers, a kai-texture-net v1 embedding`,
});

/** pgvector's text form of an embedding, for a `$n::vector` parameter. */
export function vectorLiteral(embedding: readonly number[]): string {
  return `[${embedding.join(',')}]`;
}

/** Parses pgvector's text form (`[1,2,3]`) back to numbers. */
export function parseVector(text: string): number[] {
  const inner = text.trim().replace(/^\[/, '').replace(/\]$/, '');
  return inner === '' ? [] : inner.split(',').map(Number);
}
