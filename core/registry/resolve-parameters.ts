import { z } from 'zod';
import { DEFAULTS } from '../config/defaults.ts';
import type { Queryable } from '../db/database.ts';
import type { ParamValues } from '../studies/search-space.ts';
import { getParameterSet } from './parameter-sets.ts';
import { UnknownParameterSetError } from './registry-errors.ts';

/** How a job names its parameters: a material (slug or id), a task and optionally a set. */
export const parametersRefSchema = z.strictObject({
  material: z.string().min(1).max(100),
  task: z.string().min(1).max(100),
  set: z
    .string()
    .regex(/^[a-z][a-z0-9_-]{0,62}$/)
    .optional(),
});

export type ParametersRef = z.infer<typeof parametersRefSchema>;

/** What a job carries once its parameters are resolved: the values and exactly which version. */
export interface ResolvedParameters {
  material: string;
  materialId: string;
  task: string;
  set: string;
  setId: string;
  version: number;
  versionId: string;
  values: ParamValues;
}

/** The shape of `ResolvedParameters`, for job types whose payload accepts `parameters`. */
export const resolvedParametersSchema: z.ZodType<ResolvedParameters> = z.strictObject({
  material: z.string(),
  materialId: z.string(),
  task: z.string(),
  set: z.string(),
  setId: z.string(),
  version: z.number().int(),
  versionId: z.string(),
  values: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
});

/**
 * The active version of the named set (default `DEFAULT_PARAMETER_SET`) of a material for a
 * task, pinned by id and number so a job runs exactly what was active when it was submitted.
 * A missing material, task, set or active version is a clear domain error.
 */
export async function resolveParameters(
  db: Queryable,
  ref: ParametersRef,
  defaultSet: string = DEFAULTS.DEFAULT_PARAMETER_SET,
): Promise<ResolvedParameters> {
  const setName = ref.set ?? defaultSet;
  const set = await getParameterSet(db, { material: ref.material, task: ref.task, set: setName });
  if (!set.active) {
    throw new UnknownParameterSetError(
      `Parameter set ${setName} of ${set.materialSlug} for ${ref.task} has no active version; ` +
        'activate one first.',
    );
  }
  return {
    material: set.materialSlug,
    materialId: set.materialId,
    task: set.task,
    set: set.name,
    setId: set.id,
    version: set.active.version,
    versionId: set.active.id,
    values: set.active.values,
  };
}
