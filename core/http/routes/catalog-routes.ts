import { createRoute, z } from '@hono/zod-openapi';
import { callerOf } from '../../auth/authenticate.ts';
import { asCaller } from '../../auth/user-scope.ts';
import { addCatalogItems } from '../../catalog/add-catalog-items.ts';
import {
  CATALOG_ITEM_COLUMNS,
  type CatalogItemRow,
  catalogItemFromRow,
  MAX_ITEMS_PER_REQUEST,
  newCatalogItemSchema,
} from '../../catalog/catalog-item.ts';
import { findSimilarItems } from '../../catalog/find-similar-items.ts';
import { listCatalogItems } from '../../catalog/list-catalog-items.ts';
import { MAX_NEIGHBOURS } from '../../catalog/nearest-items.ts';
import { cachedCapabilities, requireVector } from '../../db/capabilities.ts';
import { NotFoundError, ValidationError } from '../../errors.ts';
import type { ApiDeps } from '../app-env.ts';
import { AUTH_PROBLEMS, BEARER_SECURITY, createRouter, IdParam, problem } from '../openapi.ts';

const CatalogItemSchema = z
  .object({
    id: z.uuid(),
    ownerId: z.uuid().nullable(),
    materialClass: z.string(),
    productId: z.string(),
    label: z.string().nullable(),
    metadata: z.record(z.string(), z.unknown()),
    status: z.enum(['embedding', 'ready', 'failed']),
    embedJobId: z.uuid().nullable(),
    embeddingModel: z.string().nullable(),
    error: z.unknown(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('CatalogItem');

const NeighbourSchema = z
  .object({
    itemId: z.uuid(),
    productId: z.string(),
    materialClass: z.string(),
    label: z.string().nullable(),
    shared: z.boolean(),
    similarity: z.number(),
  })
  .openapi('CatalogNeighbour');

const AddItemsBody = z
  .strictObject({ items: z.array(newCatalogItemSchema).min(1).max(MAX_ITEMS_PER_REQUEST) })
  .openapi('AddCatalogItems');

const SimilarQuery = z.object({
  itemId: z.uuid().optional().openapi({ description: 'A catalog item to find neighbours of' }),
  jobId: z
    .uuid()
    .optional()
    .openapi({ description: 'A completed texture.embed or material.classify job' }),
  k: z.coerce.number().int().min(1).max(MAX_NEIGHBOURS).default(10),
});

const VECTOR_PROBLEM = problem('The database has no pgvector (`capability_unavailable`).');

const addItems = createRoute({
  method: 'post',
  path: '/v1/catalog/items',
  tags: ['catalog'],
  summary: 'Add labelled reference images to your catalog',
  description:
    'Stores each item (material class, product id, image) with status `embedding` and queues ' +
    'a `texture.embed` job for it; the item becomes `ready` with its embedding when the pool ' +
    'has run the job, or `failed` with the job’s error.',
  security: BEARER_SECURITY,
  request: { body: { required: true, content: { 'application/json': { schema: AddItemsBody } } } },
  responses: {
    202: {
      description: 'The items, embedding',
      content: { 'application/json': { schema: z.object({ items: z.array(CatalogItemSchema) }) } },
    },
    ...AUTH_PROBLEMS,
    422: problem('A field, or an image, that cannot be accepted.'),
    503: VECTOR_PROBLEM,
  },
});

const ListQuery = z.object({
  materialClass: z.string().max(64).optional(),
  productId: z.string().max(200).optional(),
  status: z.enum(['embedding', 'ready', 'failed']).optional(),
  own: z
    .enum(['true', 'false'])
    .optional()
    .openapi({ description: 'true: only your items; false: only the shared catalog' }),
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().max(200).optional().openapi({ description: 'nextCursor of the page before' }),
});

const listItems = createRoute({
  method: 'get',
  path: '/v1/catalog/items',
  tags: ['catalog'],
  summary: 'Your catalog items and the shared catalog’s, newest first',
  security: BEARER_SECURITY,
  request: { query: ListQuery },
  responses: {
    200: {
      description: 'One page of items',
      content: {
        'application/json': {
          schema: z.object({
            items: z.array(CatalogItemSchema),
            nextCursor: z.string().nullable(),
          }),
        },
      },
    },
    ...AUTH_PROBLEMS,
    422: problem('A filter or cursor that is not valid.'),
  },
});

const deleteItem = createRoute({
  method: 'delete',
  path: '/v1/catalog/items/{id}',
  tags: ['catalog'],
  summary: 'Remove one of your catalog items',
  security: BEARER_SECURITY,
  request: { params: IdParam },
  responses: {
    204: { description: 'Removed' },
    ...AUTH_PROBLEMS,
    404: problem('No such item of yours (shared items are managed by the service).'),
  },
});

const getItem = createRoute({
  method: 'get',
  path: '/v1/catalog/items/{id}',
  tags: ['catalog'],
  summary: 'One catalog item: yours or the shared catalog’s',
  security: BEARER_SECURITY,
  request: { params: IdParam },
  responses: {
    200: {
      description: 'The item',
      content: { 'application/json': { schema: CatalogItemSchema } },
    },
    ...AUTH_PROBLEMS,
    404: problem('No such item visible to you.'),
  },
});

const similar = createRoute({
  method: 'get',
  path: '/v1/catalog/similar',
  tags: ['catalog'],
  summary: 'The catalog items nearest to an item or to a finished job’s embedding',
  security: BEARER_SECURITY,
  request: { query: SimilarQuery },
  responses: {
    200: {
      description: 'Neighbours by cosine similarity of kai-texture-net embeddings, nearest first',
      content: {
        'application/json': {
          schema: z.object({
            source: z.object({
              kind: z.enum(['item', 'job']),
              itemId: z.uuid().optional(),
              jobId: z.uuid().optional(),
              type: z.string().optional(),
            }),
            neighbours: z.array(NeighbourSchema),
          }),
        },
      },
    },
    ...AUTH_PROBLEMS,
    404: problem('No such item or job visible to you.'),
    422: problem('Neither or both of itemId and jobId, or a source without an embedding.'),
    503: VECTOR_PROBLEM,
  },
});

/** The catalog routes: add, list, read and remove reference images, and find similar items. */
export function catalogRoutes(deps: ApiDeps) {
  const router = createRouter();

  const capabilitiesOf = cachedCapabilities(deps.db);
  const requireCatalogVectors = async (feature: string) => {
    requireVector(await capabilitiesOf(), feature);
  };

  router.openapi(addItems, async (c) => {
    const auth = callerOf(c, { scope: 'catalog:write' });
    await requireCatalogVectors('The catalog');
    const { items } = c.req.valid('json');

    const added = await asCaller(deps.db, auth, (tx) =>
      addCatalogItems(tx, deps.queueClasses, auth.subject, items),
    );
    c.get('logger').info({ items: added.length }, 'catalog items added');
    return c.json({ items: added }, 202);
  });

  router.openapi(listItems, async (c) => {
    const auth = callerOf(c, { scope: 'catalog:read' });
    const query = c.req.valid('query');
    const page = await asCaller(deps.db, auth, (tx) =>
      listCatalogItems(tx, {
        ...query,
        own: query.own === undefined ? undefined : query.own === 'true',
      }),
    );
    return c.json(page, 200);
  });

  router.openapi(deleteItem, async (c) => {
    const auth = callerOf(c, { scope: 'catalog:write' });
    const { id } = c.req.valid('param');
    const deleted = await asCaller(deps.db, auth, (tx) =>
      tx.query('delete from public.catalog_items where id = $1 returning id', [id]),
    );
    if (deleted.length === 0) throw new NotFoundError(`No catalog item ${id} of yours.`);
    return c.body(null, 204);
  });

  router.openapi(getItem, async (c) => {
    const auth = callerOf(c, { scope: 'catalog:read' });
    const { id } = c.req.valid('param');
    const [row] = await asCaller(deps.db, auth, (tx) =>
      tx.query<CatalogItemRow>(
        `select ${CATALOG_ITEM_COLUMNS} from public.catalog_items where id = $1`,
        [id],
      ),
    );
    if (!row) throw new NotFoundError(`No catalog item ${id}.`);
    return c.json(catalogItemFromRow(row), 200);
  });

  router.openapi(similar, async (c) => {
    const auth = callerOf(c, { scope: 'catalog:read' });
    const { itemId, jobId, k } = c.req.valid('query');
    if ((itemId === undefined) === (jobId === undefined)) {
      throw new ValidationError('Give exactly one of itemId and jobId.', [
        { path: 'query', message: 'expects exactly one of itemId and jobId' },
      ]);
    }
    await requireCatalogVectors('Similar-item search');

    const to = itemId !== undefined ? { itemId } : { jobId: jobId as string };
    const found = await asCaller(deps.db, auth, (tx) => findSimilarItems(tx, to, k));
    return c.json(found, 200);
  });

  return router;
}
