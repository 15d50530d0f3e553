import type { Queryable } from '../db/database.ts';
import { findMaterialType } from '../registry/material-types.ts';
import {
  addParameterSetVersion,
  type ParameterSet,
  setsOf,
  validateValues,
} from '../registry/parameter-sets.ts';
import { getTask } from '../registry/tasks.ts';
import { getStudy, summarizeStudy } from './studies.ts';
import { NothingToPromoteError } from './study-errors.ts';

/**
 * Writes the study's best complete trial as a new version of the material's parameter set
 * for the study's task (`set`, DEFAULT_PARAMETER_SET unless named), and activates it unless
 * `activate` is false. Parameters the study did not search keep the set's active values (or
 * the task's defaults). The trial's value becomes the version's score only when the study's
 * direction is the task's score direction. Run in a transaction.
 */
export async function promoteBestTrial(
  tx: Queryable,
  studyId: string,
  options: { set: string; activate: boolean; actor: string | null },
): Promise<{ set: ParameterSet; trialNumber: number }> {
  const study = await getStudy(tx, studyId);
  if (!study.materialId || !study.task) {
    throw new NothingToPromoteError(
      'Only a study tied to a material and a task can be promoted to a parameter set.',
    );
  }
  const { best } = await summarizeStudy(tx, study);
  if (!best || best.value === null) {
    throw new NothingToPromoteError(`Study ${study.id} has no complete trial to promote yet.`);
  }

  const material = await findMaterialType(tx, study.materialId);
  const task = await getTask(tx, study.task);
  const current = (await setsOf(tx, material.id, task, options.set))[0]?.active?.values;
  const values = validateValues(task, { ...task.defaults, ...current, ...best.params });

  const set = await addParameterSetVersion(
    tx,
    { material: material.id, task: task.name, set: options.set },
    {
      values,
      score: study.direction === task.scoreDirection ? best.value : null,
      source: 'study',
      studyId: study.id,
      trialNumber: best.number,
      note: `Best trial ${best.number} of study ${study.name} (value ${best.value}).`,
      activate: options.activate,
    },
    options.actor,
  );
  return { set, trialNumber: best.number };
}
