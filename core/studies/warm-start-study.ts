import type { DatabaseCapabilities } from '../db/capabilities.ts';
import type { Queryable } from '../db/database.ts';
import { ValidationError } from '../errors.ts';
import { findMaterialType } from '../registry/material-types.ts';
import { nearestMaterials } from '../registry/nearest-materials.ts';
import { enqueueTrial } from './enqueue-trial.ts';
import { getStudy } from './studies.ts';
import { StudyCompletedError } from './study-errors.ts';
import type { Direction, FinishedTrial } from './trial-history.ts';
import { buildWarmStart, WARM_START_DEFAULTS, type WarmStartOptions } from './warm-start.ts';

/** What a warm start took from where. */
export interface WarmStartReport {
  sources: { studyId: string; material: string; similarity: number; trials: number }[];
  enqueued: number[];
  priors: number;
}

/**
 * Warm-starts a study from the finished studies of the same task on similar materials (the
 * study's own material too, at similarity 1): their best trials are enqueued as its first
 * trials and their complete trials become weighted priors for TPE (warm-start.ts). Only
 * studies the caller can see (RLS) are used. A completed study refuses (`study_completed`).
 * Run in a transaction.
 */
export async function warmStartStudy(
  tx: Queryable,
  capabilities: DatabaseCapabilities,
  studyId: string,
  options: { threshold: number; maxMaterials?: number; warmStart?: Partial<WarmStartOptions> },
): Promise<WarmStartReport> {
  const study = await getStudy(tx, studyId, { lock: true });
  if (study.status === 'completed') throw new StudyCompletedError(study.id, study.completedAt);
  if (!study.materialId || !study.task) {
    throw new ValidationError(
      'A warm start needs a study tied to a material and a task, to find similar studies.',
      [{ path: 'material', message: 'the study has no material or no task' }],
    );
  }
  const material = await findMaterialType(tx, study.materialId);
  const { neighbours } = await nearestMaterials(tx, capabilities, {
    vector: material.propertyVector,
    limit: options.maxMaterials ?? 10,
    minSimilarity: options.threshold,
  });
  const similarity = new Map(neighbours.map((n) => [n.materialId, n]));
  similarity.set(material.id, { ...material, materialId: material.id, similarity: 1 });

  const studies = await tx.query<{ id: string; material_id: string; direction: Direction }>(
    `select id, material_id, direction from public.studies
     where task = $1 and id <> $2
       and material_id in (select (jsonb_array_elements_text($3::jsonb -> 'v'))::uuid)`,
    [study.task, study.id, { v: [...similarity.keys()] }],
  );
  const sources = [];
  for (const s of studies) {
    const trials = await tx.query<FinishedTrial>(
      `select number, params, state, value from public.study_trials
       where study_id = $1 and state = 'complete' order by number`,
      [s.id],
    );
    if (trials.length === 0) continue;
    const near = similarity.get(s.material_id);
    sources.push({
      studyId: s.id,
      material: near?.slug ?? s.material_id,
      similarity: near?.similarity ?? 0,
      direction: s.direction,
      trials,
    });
  }

  const start = buildWarmStart(study.space, sources, {
    ...WARM_START_DEFAULTS,
    ...options.warmStart,
  });
  const enqueued: number[] = [];
  for (const e of start.enqueue) {
    const trial = await enqueueTrial(tx, study.id, e.params, {
      source: 'warm_start',
      origin: e.origin,
    });
    enqueued.push(trial.number);
  }
  if (start.priors.length > 0) {
    await tx.query(
      `insert into public.study_priors
         (study_id, params, good, weight, source_study_id, source_trial_number, similarity)
       select $1, p.params, p.good, p.weight, p."studyId", p.number, p.similarity
       from jsonb_to_recordset($2::jsonb) as p(params jsonb, good boolean, weight float8,
                                               "studyId" uuid, number int, similarity float8)`,
      [study.id, start.priors],
    );
  }
  return {
    sources: sources.map((s) => ({
      studyId: s.studyId,
      material: s.material,
      similarity: s.similarity,
      trials: s.trials.length,
    })),
    enqueued,
    priors: start.priors.length,
  };
}
