import { createRoute, z } from '@hono/zod-openapi';
import { callerOf } from '../../auth/authenticate.ts';
import { asCaller } from '../../auth/user-scope.ts';
import { cachedCapabilities } from '../../db/capabilities.ts';
import { materialPropertiesSchema } from '../../registry/material-properties.ts';
import {
  createMaterialType,
  findMaterialType,
  listMaterialTypes,
} from '../../registry/material-types.ts';
import { nearestMaterials } from '../../registry/nearest-materials.ts';
import {
  activateVersion,
  addParameterSetVersion,
  getParameterSet,
  listChanges,
  listVersions,
  setsOf,
} from '../../registry/parameter-sets.ts';
import { RegistryDisabledError } from '../../registry/registry-errors.ts';
import {
  DEFAULT_REGISTRY_SETTINGS,
  type RegistrySettings,
} from '../../registry/registry-settings.ts';
import { suggestParameters } from '../../registry/suggest-parameters.ts';
import { getTask, listTasks } from '../../registry/tasks.ts';
import type { ApiDeps } from '../app-env.ts';
import {
  AUTH_PROBLEMS,
  BEARER_SECURITY,
  createRouter,
  jsonBody,
  jsonResponse,
  problem,
} from '../openapi.ts';
import {
  ChangeSchema,
  MaterialSchema,
  NeighbourSchema,
  ParamValuesSchema,
  SetSchema,
  SuggestionSchema,
  TaskSchema,
  VersionSchema,
} from './registry-schemas.ts';

export type { RegistrySettings } from '../../registry/registry-settings.ts';
export { DEFAULT_REGISTRY_SETTINGS } from '../../registry/registry-settings.ts';

const TAG = 'registry';
const SLUG = /^[a-z][a-z0-9-]{0,62}$/;
const MaterialParam = z.object({
  material: z
    .string()
    .min(1)
    .max(100)
    .openapi({ param: { name: 'material', in: 'path' }, description: 'Slug or id' }),
});
const TaskParam = z.object({
  task: z
    .string()
    .min(1)
    .max(100)
    .openapi({ param: { name: 'task', in: 'path' }, description: 'A registry task' }),
});
const SetParam = z.object({
  set: z
    .string()
    .regex(/^[a-z][a-z0-9_-]{0,62}$/)
    .openapi({ param: { name: 'set', in: 'path' }, description: 'The set name' }),
});
const SetPath = MaterialParam.extend(TaskParam.shape).extend(SetParam.shape);
const NOT_FOUND = problem('No such material type, task or set.');
const DISABLED = problem('The registry is turned off (`registry_disabled`).');

const listTasksRoute = createRoute({
  method: 'get',
  path: '/v1/registry/tasks',
  tags: [TAG],
  summary: 'The tasks the registry keeps parameters for, with their parameter spaces',
  security: BEARER_SECURITY,
  responses: {
    200: jsonResponse(z.object({ tasks: z.array(TaskSchema) }), 'Every task'),
    ...AUTH_PROBLEMS,
    503: DISABLED,
  },
});

const listMaterialsRoute = createRoute({
  method: 'get',
  path: '/v1/registry/materials',
  tags: [TAG],
  summary: 'Material types by slug, a page at a time',
  security: BEARER_SECURITY,
  request: {
    query: z.object({
      category: z.string().regex(SLUG).optional(),
      after: z.string().regex(SLUG).optional().openapi({ description: 'The last slug seen' }),
      limit: z.coerce.number().int().min(1).max(500).default(100),
    }),
  },
  responses: {
    200: jsonResponse(
      z.object({ materials: z.array(MaterialSchema), next: z.string().nullable() }),
      'A page',
    ),
    ...AUTH_PROBLEMS,
    503: DISABLED,
  },
});

const createMaterialRoute = createRoute({
  method: 'post',
  path: '/v1/registry/materials',
  tags: [TAG],
  summary: 'Registers a material type; its property vector is computed from its properties',
  security: BEARER_SECURITY,
  request: jsonBody(
    z
      .strictObject({
        slug: z.string().regex(SLUG),
        name: z.string().min(1).max(200),
        category: z.string().regex(SLUG),
        properties: materialPropertiesSchema,
        textureEmbedding: z.array(z.number()).min(1).max(2048).optional(),
      })
      .openapi('NewMaterialType'),
  ),
  responses: {
    201: jsonResponse(MaterialSchema, 'The material type'),
    ...AUTH_PROBLEMS,
    409: problem('The slug is taken (`material_exists`).'),
    503: DISABLED,
  },
});

const getMaterialRoute = createRoute({
  method: 'get',
  path: '/v1/registry/materials/{material}',
  tags: [TAG],
  summary: 'One material type',
  security: BEARER_SECURITY,
  request: { params: MaterialParam },
  responses: {
    200: jsonResponse(MaterialSchema, 'The material type'),
    ...AUTH_PROBLEMS,
    404: NOT_FOUND,
    503: DISABLED,
  },
});

const neighboursRoute = createRoute({
  method: 'get',
  path: '/v1/registry/materials/{material}/neighbours',
  tags: [TAG],
  summary: 'The most similar material types by property vector (cosine)',
  security: BEARER_SECURITY,
  request: {
    params: MaterialParam,
    query: z.object({
      limit: z.coerce.number().int().min(1).max(100).default(10),
      threshold: z.coerce.number().min(-1).max(1).optional(),
    }),
  },
  responses: {
    200: jsonResponse(
      z.object({ method: z.enum(['hnsw', 'exact']), neighbours: z.array(NeighbourSchema) }),
      'Neighbours, most similar first',
    ),
    ...AUTH_PROBLEMS,
    404: NOT_FOUND,
    503: DISABLED,
  },
});

const listSetsRoute = createRoute({
  method: 'get',
  path: '/v1/registry/materials/{material}/sets/{task}',
  tags: [TAG],
  summary: "A material's parameter sets for a task",
  security: BEARER_SECURITY,
  request: { params: MaterialParam.extend(TaskParam.shape) },
  responses: {
    200: jsonResponse(z.object({ sets: z.array(SetSchema) }), 'The sets, by name'),
    ...AUTH_PROBLEMS,
    404: NOT_FOUND,
    503: DISABLED,
  },
});

const getSetRoute = createRoute({
  method: 'get',
  path: '/v1/registry/materials/{material}/sets/{task}/{set}',
  tags: [TAG],
  summary: 'One parameter set: active and best versions, every version, who changed what',
  security: BEARER_SECURITY,
  request: { params: SetPath },
  responses: {
    200: jsonResponse(
      SetSchema.extend({ versions: z.array(VersionSchema), changes: z.array(ChangeSchema) }),
      'The set and its history',
    ),
    ...AUTH_PROBLEMS,
    404: NOT_FOUND,
    503: DISABLED,
  },
});

const addVersionRoute = createRoute({
  method: 'post',
  path: '/v1/registry/materials/{material}/sets/{task}/{set}/versions',
  tags: [TAG],
  summary: 'Adds an immutable version (creating the set), optionally making it active',
  security: BEARER_SECURITY,
  request: {
    params: SetPath,
    ...jsonBody(
      z
        .strictObject({
          values: ParamValuesSchema,
          score: z.number().finite().nullable().optional(),
          note: z.string().max(2000).optional(),
          source: z.enum(['manual', 'suggestion']).default('manual'),
          activate: z.boolean().default(true),
        })
        .openapi('NewParameterSetVersion'),
    ),
  },
  responses: {
    201: jsonResponse(SetSchema, 'The set with its new version'),
    ...AUTH_PROBLEMS,
    404: NOT_FOUND,
    422: problem("Values outside the task's parameter space, field by field."),
    503: DISABLED,
  },
});

const activateRoute = createRoute({
  method: 'post',
  path: '/v1/registry/materials/{material}/sets/{task}/{set}/activate',
  tags: [TAG],
  summary: 'Points the set at another of its versions (a rollback, or a promotion)',
  security: BEARER_SECURITY,
  request: { params: SetPath, ...jsonBody(z.strictObject({ version: z.number().int().min(1) })) },
  responses: {
    200: jsonResponse(SetSchema, 'The set'),
    ...AUTH_PROBLEMS,
    404: problem('No such set or version (versions past retention are pruned).'),
    503: DISABLED,
  },
});

const suggestRoute = createRoute({
  method: 'get',
  path: '/v1/registry/materials/{material}/suggestions/{task}',
  tags: [TAG],
  summary: "Values blended from similar materials' best sets, or the defaults and why",
  security: BEARER_SECURITY,
  request: {
    params: MaterialParam.extend(TaskParam.shape),
    query: z.object({
      threshold: z.coerce.number().min(-1).max(1).optional().openapi({
        description: 'The least similarity; SIMILARITY_THRESHOLD when unset',
      }),
      limit: z.coerce.number().int().min(1).max(50).default(5),
    }),
  },
  responses: {
    200: jsonResponse(SuggestionSchema, 'The suggestion, its neighbours and their similarities'),
    ...AUTH_PROBLEMS,
    404: NOT_FOUND,
    503: DISABLED,
  },
});

/**
 * `/v1/registry`: tasks, material types, parameter sets with their versions and history, and
 * suggestions. Reads need `registry:read`, writes `registry:write`; every query runs as the
 * caller under RLS. With PARAM_REGISTRY_ENABLED=false every route answers 503.
 */
export function registryRoutes(
  deps: ApiDeps,
  settings: RegistrySettings = DEFAULT_REGISTRY_SETTINGS,
) {
  const router = createRouter();

  const capabilitiesOf = cachedCapabilities(deps.db);

  router.use('/v1/registry/*', async (_c, next) => {
    if (!settings.enabled) throw new RegistryDisabledError();
    await next();
  });

  router.openapi(listTasksRoute, async (c) => {
    const auth = callerOf(c, { scope: 'registry:read' });
    const tasks = await asCaller(deps.db, auth, (tx) => listTasks(tx));
    return c.json({ tasks }, 200);
  });

  router.openapi(listMaterialsRoute, async (c) => {
    const auth = callerOf(c, { scope: 'registry:read' });
    const query = c.req.valid('query');
    const materials = await asCaller(deps.db, auth, (tx) => listMaterialTypes(tx, query));
    const next = materials.length === query.limit ? (materials.at(-1)?.slug ?? null) : null;
    return c.json({ materials, next }, 200);
  });

  router.openapi(createMaterialRoute, async (c) => {
    const auth = callerOf(c, { scope: 'registry:write' });
    const input = c.req.valid('json');
    const material = await asCaller(deps.db, auth, (tx) =>
      createMaterialType(tx, input, auth.subject),
    );
    c.get('logger').info({ material: material.slug }, 'material type registered');
    return c.json(material, 201);
  });

  router.openapi(getMaterialRoute, async (c) => {
    const auth = callerOf(c, { scope: 'registry:read' });
    const { material } = c.req.valid('param');
    return c.json(await asCaller(deps.db, auth, (tx) => findMaterialType(tx, material)), 200);
  });

  router.openapi(neighboursRoute, async (c) => {
    const auth = callerOf(c, { scope: 'registry:read' });
    const { material } = c.req.valid('param');
    const { limit, threshold } = c.req.valid('query');
    const caps = await capabilitiesOf();
    const found = await asCaller(deps.db, auth, async (tx) => {
      const m = await findMaterialType(tx, material);
      return await nearestMaterials(tx, caps, {
        vector: m.propertyVector,
        limit,
        minSimilarity: threshold ?? settings.similarityThreshold,
        excludeId: m.id,
      });
    });
    return c.json(found, 200);
  });

  router.openapi(listSetsRoute, async (c) => {
    const auth = callerOf(c, { scope: 'registry:read' });
    const { material, task } = c.req.valid('param');
    const sets = await asCaller(deps.db, auth, async (tx) => {
      const m = await findMaterialType(tx, material);
      return await setsOf(tx, m.id, await getTask(tx, task));
    });
    return c.json({ sets }, 200);
  });

  router.openapi(getSetRoute, async (c) => {
    const auth = callerOf(c, { scope: 'registry:read' });
    const ref = c.req.valid('param');
    const found = await asCaller(deps.db, auth, async (tx) => {
      const set = await getParameterSet(tx, ref);
      return {
        ...set,
        versions: await listVersions(tx, set.id),
        changes: await listChanges(tx, set.id),
      };
    });
    return c.json(found, 200);
  });

  router.openapi(addVersionRoute, async (c) => {
    const auth = callerOf(c, { scope: 'registry:write' });
    const ref = c.req.valid('param');
    const input = c.req.valid('json');
    const set = await asCaller(deps.db, auth, (tx) =>
      addParameterSetVersion(tx, ref, input, auth.subject),
    );
    c.get('logger').info(
      { material: set.materialSlug, task: set.task, set: set.name },
      'parameter set version added',
    );
    return c.json(set, 201);
  });

  router.openapi(activateRoute, async (c) => {
    const auth = callerOf(c, { scope: 'registry:write' });
    const ref = c.req.valid('param');
    const { version } = c.req.valid('json');
    const set = await asCaller(deps.db, auth, (tx) =>
      activateVersion(tx, ref, version, auth.subject),
    );
    return c.json(set, 200);
  });

  router.openapi(suggestRoute, async (c) => {
    const auth = callerOf(c, { scope: 'registry:read' });
    const { material, task } = c.req.valid('param');
    const { threshold, limit } = c.req.valid('query');
    const caps = await capabilitiesOf();
    const suggestion = await asCaller(deps.db, auth, (tx) =>
      suggestParameters(tx, caps, {
        material,
        task,
        threshold: threshold ?? settings.similarityThreshold,
        limit,
        defaultSet: settings.defaultSet,
      }),
    );
    return c.json(suggestion, 200);
  });

  return router;
}
