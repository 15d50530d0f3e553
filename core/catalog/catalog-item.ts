import { z } from 'zod';
import { inlineImageSchema } from '../spec/image-input.ts';

/** The most reference images one `POST /v1/catalog/items` may carry. */
export const MAX_ITEMS_PER_REQUEST = 16;

/** A material class: lower-case, such as `porcelain-tile` or `oak`. */
export const materialClassSchema = z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/, {
  error: 'expects a lower-case class name such as "porcelain-tile" (letters, digits, - and _)',
});

/** One labelled reference image as a caller submits it. */
export const newCatalogItemSchema = z.strictObject({
  materialClass: materialClassSchema,
  productId: z.string().min(1).max(200),
  label: z.string().max(500).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  /** Base64 of a PNG, JPEG or WebP file. */
  imageBase64: inlineImageSchema,
});

/** A reference image to add. */
export type NewCatalogItem = z.infer<typeof newCatalogItemSchema>;

/** A catalog item as the API shows it (the embedding itself stays in the database). */
export interface CatalogItem {
  id: string;
  ownerId: string | null;
  materialClass: string;
  productId: string;
  label: string | null;
  metadata: Record<string, unknown>;
  /** `embedding` while its texture.embed job runs, then `ready` or `failed`. */
  status: 'embedding' | 'ready' | 'failed';
  /** The texture.embed job that embeds it, until finished jobs are deleted. */
  embedJobId: string | null;
  embeddingModel: string | null;
  error: unknown;
  createdAt: string;
  updatedAt: string;
}

/** The columns `catalogItemFromRow` reads. */
export const CATALOG_ITEM_COLUMNS =
  'id, owner_id, material_class, product_id, label, metadata, status, embed_job_id, ' +
  'embedding_model, error, created_at, updated_at';

/** A row of `public.catalog_items` as selected with `CATALOG_ITEM_COLUMNS`. */
export interface CatalogItemRow {
  id: string;
  owner_id: string | null;
  material_class: string;
  product_id: string;
  label: string | null;
  metadata: Record<string, unknown>;
  status: CatalogItem['status'];
  embed_job_id: string | null;
  embedding_model: string | null;
  error: unknown;
  created_at: Date;
  updated_at: Date;
}

/** Maps a row to the API's shape. */
export function catalogItemFromRow(row: CatalogItemRow): CatalogItem {
  return {
    id: row.id,
    ownerId: row.owner_id,
    materialClass: row.material_class,
    productId: row.product_id,
    label: row.label,
    metadata: row.metadata,
    status: row.status,
    embedJobId: row.embed_job_id,
    embeddingModel: row.embedding_model,
    error: row.error,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}
