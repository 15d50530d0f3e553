import type { Queryable } from '../db/database.ts';
import { ValidationError } from '../errors.ts';
import {
  CATALOG_ITEM_COLUMNS,
  type CatalogItem,
  type CatalogItemRow,
  catalogItemFromRow,
} from './catalog-item.ts';

/** What `listCatalogItems` filters by; all optional. */
export interface CatalogItemFilters {
  materialClass?: string | undefined;
  productId?: string | undefined;
  status?: CatalogItem['status'] | undefined;
  /** Only the caller's own items (true) or only the shared catalog (false). */
  own?: boolean | undefined;
  limit: number;
  cursor?: string | undefined;
}

/** One page of items, newest first, and the cursor of the next (null on the last). */
export interface CatalogItemPage {
  items: CatalogItem[];
  nextCursor: string | null;
}

/**
 * The catalog items `tx` may see (run as the caller: their own and the shared catalog), newest
 * first in the stable order (created_at, id), one page at a time.
 */
export async function listCatalogItems(
  tx: Queryable,
  filters: CatalogItemFilters,
): Promise<CatalogItemPage> {
  const after = filters.cursor === undefined ? undefined : decodeCursor(filters.cursor);
  const rows = await tx.query<CatalogItemRow>(
    `select ${CATALOG_ITEM_COLUMNS} from public.catalog_items
     where ($1::text is null or material_class = $1)
       and ($2::text is null or product_id = $2)
       and ($3::text is null or status = $3)
       and ($4::boolean is null or (owner_id is not null) = $4)
       and ($5::timestamptz is null or (created_at, id) < ($5::timestamptz, $6::uuid))
     order by created_at desc, id desc
     limit $7`,
    [
      filters.materialClass ?? null,
      filters.productId ?? null,
      filters.status ?? null,
      filters.own ?? null,
      after?.createdAt ?? null,
      after?.id ?? null,
      filters.limit + 1,
    ],
  );

  const page = rows.slice(0, filters.limit).map(catalogItemFromRow);
  const last = page.at(-1);
  const nextCursor =
    rows.length > filters.limit && last ? encodeCursor(last.createdAt, last.id) : null;
  return { items: page, nextCursor };
}

function encodeCursor(createdAt: string, id: string): string {
  return Buffer.from(JSON.stringify([createdAt, id])).toString('base64url');
}

function decodeCursor(cursor: string): { createdAt: string; id: string } {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof createdAt === 'string' && !Number.isNaN(Date.parse(createdAt))) {
      if (typeof id === 'string' && /^[0-9a-f-]{36}$/.test(id)) return { createdAt, id };
    }
  } catch {
    // Falls through to the one error below.
  }
  throw new ValidationError('The cursor is not one Kai gave out.', [
    { path: 'query.cursor', message: 'expects the nextCursor of an earlier page' },
  ]);
}
