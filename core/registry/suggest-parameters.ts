import type { DatabaseCapabilities } from '../db/capabilities.ts';
import type { Queryable } from '../db/database.ts';
import type { ParamValues } from '../studies/search-space.ts';
import { type Direction, isBetter } from '../studies/trial-history.ts';
import { blendParameters } from './blend-parameters.ts';
import { findMaterialType } from './material-types.ts';
import { nearestMaterials, type SearchMethod } from './nearest-materials.ts';
import { type ParameterSetVersion, setsOf } from './parameter-sets.ts';
import { getTask } from './tasks.ts';

/** A neighbour that contributed to a suggestion, and with which version. */
export interface SuggestionNeighbour {
  materialId: string;
  slug: string;
  name: string;
  similarity: number;
  set: string;
  version: number;
  score: number | null;
  values: ParamValues;
}

/** A proposed set of values for a material and task, and how it was reached. */
export interface Suggestion {
  material: { id: string; slug: string };
  task: string;
  /** `neighbours`: blended from similar materials; `default`: a fallback, see `reason`. */
  source: 'neighbours' | 'default';
  /** Why there was no blend; null when there was one. */
  reason: string | null;
  /** Which default was used: the material's own default set or the task's defaults. */
  fallback: 'material_default_set' | 'task_defaults' | null;
  method: SearchMethod;
  threshold: number;
  neighbours: SuggestionNeighbour[];
  values: ParamValues;
}

export interface SuggestOptions {
  material: string;
  task: string;
  /** SIMILARITY_THRESHOLD: the least cosine similarity a neighbour needs. */
  threshold: number;
  /** How many neighbours at most are blended. */
  limit: number;
  /** DEFAULT_PARAMETER_SET: the set read when a neighbour has no scored version. */
  defaultSet: string;
}

/**
 * Proposes values for a material and task from its nearest materials (by property vector,
 * at least `threshold` alike, the material itself excluded): each neighbour brings its best
 * scored version for the task (or else the active version of its default set), and the values
 * are blended by similarity (blend-parameters.ts). With no neighbour above the threshold, or
 * none with a set for the task, it falls back to the material's own default set, else to the
 * task's defaults, and says why.
 */
export async function suggestParameters(
  db: Queryable,
  capabilities: DatabaseCapabilities,
  options: SuggestOptions,
): Promise<Suggestion> {
  const material = await findMaterialType(db, options.material);
  const task = await getTask(db, options.task);

  const { method, neighbours } = await nearestMaterials(db, capabilities, {
    vector: material.propertyVector,
    limit: Math.max(options.limit * 4, 20),
    minSimilarity: options.threshold,
    excludeId: material.id,
  });

  // Each neighbour's best version for the task, until `limit` neighbours have one.
  const contributing: SuggestionNeighbour[] = [];
  for (const neighbour of neighbours) {
    if (contributing.length >= options.limit) break;
    const chosen = pickVersion(
      await setsOf(db, neighbour.materialId, task),
      options.defaultSet,
      task.scoreDirection,
    );
    if (!chosen) continue;
    contributing.push({
      materialId: neighbour.materialId,
      slug: neighbour.slug,
      name: neighbour.name,
      similarity: neighbour.similarity,
      set: chosen.set,
      version: chosen.version.version,
      score: chosen.version.score,
      values: chosen.version.values,
    });
  }

  const base = {
    material: { id: material.id, slug: material.slug },
    task: task.name,
    method,
    threshold: options.threshold,
  };
  if (contributing.length > 0) {
    return {
      ...base,
      source: 'neighbours',
      reason: null,
      fallback: null,
      neighbours: contributing,
      values: blendParameters(task.space, contributing, task.defaults),
    };
  }

  const reason =
    neighbours.length === 0
      ? `No other material type is at least ${options.threshold} similar to ${material.slug}.`
      : `The ${neighbours.length} material types at least ${options.threshold} similar to ` +
        `${material.slug} have no parameter set for ${task.name}.`;
  const own = (await setsOf(db, material.id, task, options.defaultSet))[0]?.active;
  return {
    ...base,
    source: 'default',
    reason,
    fallback: own ? 'material_default_set' : 'task_defaults',
    neighbours: [],
    values: own ? own.values : task.defaults,
  };
}

function pickVersion(
  sets: Awaited<ReturnType<typeof setsOf>>,
  defaultSet: string,
  direction: Direction,
): { set: string; version: ParameterSetVersion } | undefined {
  // The best scored version over all the neighbour's sets for the task, else an active one.
  let best: { set: string; version: ParameterSetVersion } | undefined;
  for (const s of sets) {
    const score = s.best?.score;
    if (s.best === null || score === null || score === undefined) continue;
    const bestScore = best?.version.score as number;
    if (best === undefined || isBetter(direction, score, bestScore)) {
      best = { set: s.name, version: s.best };
    }
  }
  if (best) return best;
  const fallback =
    sets.find((s) => s.name === defaultSet && s.active) ?? sets.find((s) => s.active);
  return fallback?.active ? { set: fallback.name, version: fallback.active } : undefined;
}
