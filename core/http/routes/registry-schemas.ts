import { z } from '@hono/zod-openapi';

/** Parameter values: a name to a JSON scalar. */
export const ParamValuesSchema = z
  .record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]))
  .openapi('ParamValues');

/** One distribution of a search space (float, int, optionally log; categorical). */
export const DistributionSchema = z
  .object({
    type: z.enum(['float', 'int', 'categorical']),
    low: z.number().optional(),
    high: z.number().optional(),
    log: z.boolean().optional(),
    step: z.number().optional(),
    choices: z.array(z.union([z.string(), z.number(), z.boolean(), z.null()])).optional(),
  })
  .openapi('Distribution');

export const SearchSpaceSchema = z.record(z.string(), DistributionSchema).openapi('SearchSpace');

export const TaskSchema = z
  .object({
    name: z.string(),
    description: z.string(),
    space: SearchSpaceSchema,
    defaults: ParamValuesSchema,
    scoreDirection: z.enum(['minimize', 'maximize']),
  })
  .openapi('RegistryTask');

export const MaterialPropertiesSchema = z
  .object({
    densityKgM3: z.number(),
    mohsHardness: z.number(),
    porosity: z.number(),
    gloss60Gu: z.number(),
    roughnessRaUm: z.number(),
    grainScaleMm: z.number(),
    colorVariation: z.number(),
    thermalConductivityWmK: z.number(),
  })
  .openapi('MaterialProperties');

export const MaterialSchema = z
  .object({
    id: z.uuid(),
    slug: z.string(),
    name: z.string(),
    category: z.string(),
    properties: MaterialPropertiesSchema,
    propertyVector: z.array(z.number()).openapi({
      description: 'Eight dimensions in [-1, 1]; see the README for each normalisation.',
    }),
    textureEmbedding: z.array(z.number()).nullable(),
    seed: z.boolean(),
    createdBy: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi('MaterialType');

export const NeighbourSchema = z
  .object({
    materialId: z.uuid(),
    slug: z.string(),
    name: z.string(),
    category: z.string(),
    similarity: z.number(),
  })
  .openapi('MaterialNeighbour');

export const VersionSchema = z
  .object({
    id: z.uuid(),
    setId: z.uuid(),
    version: z.number().int(),
    values: ParamValuesSchema,
    score: z.number().nullable(),
    source: z.enum(['seed', 'manual', 'suggestion', 'study']),
    studyId: z.string().nullable(),
    trialNumber: z.number().int().nullable(),
    note: z.string().nullable(),
    createdBy: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi('ParameterSetVersion');

export const SetSchema = z
  .object({
    id: z.uuid(),
    materialId: z.uuid(),
    materialSlug: z.string(),
    task: z.string(),
    name: z.string(),
    active: VersionSchema.nullable(),
    best: VersionSchema.nullable(),
    updatedBy: z.string().nullable(),
    updatedAt: z.string(),
  })
  .openapi('ParameterSet');

export const ChangeSchema = z
  .object({
    action: z.enum(['created', 'version_added', 'activated', 'pruned']),
    version: z.number().int().nullable(),
    actor: z.string().nullable(),
    detail: z.record(z.string(), z.unknown()),
    at: z.string(),
  })
  .openapi('ParameterSetChange');

export const SuggestionSchema = z
  .object({
    material: z.object({ id: z.uuid(), slug: z.string() }),
    task: z.string(),
    source: z.enum(['neighbours', 'default']),
    reason: z.string().nullable(),
    fallback: z.enum(['material_default_set', 'task_defaults']).nullable(),
    method: z.enum(['hnsw', 'exact']),
    threshold: z.number(),
    neighbours: z.array(
      z.object({
        materialId: z.uuid(),
        slug: z.string(),
        name: z.string(),
        similarity: z.number(),
        set: z.string(),
        version: z.number().int(),
        score: z.number().nullable(),
        values: ParamValuesSchema,
      }),
    ),
    values: ParamValuesSchema,
  })
  .openapi('ParameterSuggestion');
