import type { Queryable } from '../db/database.ts';
import { ValidationError } from '../errors.ts';
import { takeTrialNumber } from './ask-trial.ts';
import { type ParamValues, paramsSchemaOf } from './search-space.ts';
import { getStudy, type Trial, type TrialRow, trialFromRow } from './studies.ts';
import { StudyCompletedError } from './study-errors.ts';

/**
 * Queues a trial with fixed parameters, asked before the sampler is (Optuna's
 * `enqueue_trial`). The parameters must fit the study's space; a completed study refuses
 * (`study_completed`), as it would never hand the trial out. Run in a transaction.
 */
export async function enqueueTrial(
  tx: Queryable,
  studyId: string,
  params: ParamValues,
  options: { source?: 'enqueued' | 'warm_start'; origin?: Record<string, unknown> } = {},
): Promise<Trial> {
  const study = await getStudy(tx, studyId, { lock: true });
  if (study.status === 'completed') throw new StudyCompletedError(study.id, study.completedAt);
  const parsed = paramsSchemaOf(study.space).safeParse(params);
  if (!parsed.success) {
    throw new ValidationError(
      "The parameters do not fit the study's search space.",
      parsed.error.issues.map((i) => ({
        path: ['params', ...i.path].join('.'),
        message: i.message,
      })),
    );
  }
  const number = await takeTrialNumber(tx, study.id);
  const [row] = await tx.query<TrialRow>(
    `insert into public.study_trials (study_id, number, state, params, source, origin)
     values ($1, $2, 'waiting', $3::jsonb, $4, $5::jsonb) returning *`,
    [study.id, number, parsed.data, options.source ?? 'enqueued', options.origin ?? null],
  );
  return trialFromRow(row as TrialRow);
}
