import { CapabilityUnavailableError } from '../errors.ts';
import type { Queryable } from './database.ts';

/** What the connected database can do beyond plain Postgres. */
export interface DatabaseCapabilities {
  /** pgvector is installed: embeddings, HNSW indexes, nearest-neighbour search. */
  vector: boolean;
}

/** Reads the capabilities from the database itself; call after migrations have run. */
export async function detectCapabilities(db: Queryable): Promise<DatabaseCapabilities> {
  const [row] = await db.query<{ vector: boolean }>(
    `select exists (select 1 from pg_extension where extname = 'vector') as vector`,
  );
  return { vector: row?.vector === true };
}

/**
 * `detectCapabilities` asked once and remembered: extensions do not come and go under a
 * running process. A failed ask is forgotten, so the next call asks again.
 */
export function cachedCapabilities(db: Queryable): () => Promise<DatabaseCapabilities> {
  let capabilities: Promise<DatabaseCapabilities> | undefined;
  return () => {
    capabilities ??= detectCapabilities(db).catch((error: unknown) => {
      capabilities = undefined;
      throw error;
    });
    return capabilities;
  };
}

/**
 * Throws `capability_unavailable` unless pgvector is there, so that features built on vectors
 * answer clearly on a database without it (such as Debian's Postgres) instead of failing deep
 * inside a query.
 */
export function requireVector(capabilities: DatabaseCapabilities, feature: string): void {
  if (capabilities.vector) return;
  throw new CapabilityUnavailableError(
    'vector',
    `${feature} needs the pgvector extension, which this database does not have. Install ` +
      'pgvector on the server (Supabase has it) or run Kai on its embedded database.',
  );
}
