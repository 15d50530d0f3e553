import { z } from 'zod';
import type { Queryable } from '../db/database.ts';
import { ValidationError } from '../errors.ts';
import { completeIfBudgetSpent } from './complete-study.ts';
import { shouldPrune } from './median-pruner.ts';
import { getStudy, type Trial, type TrialRow, trialFromRow } from './studies.ts';
import { TrialNotRunningError, UnknownTrialError } from './study-errors.ts';

/** What a worker tells of a finished trial (Optuna's `study.tell`). */
export const tellSchema = z.discriminatedUnion('state', [
  z.strictObject({ state: z.literal('complete'), value: z.number().finite() }),
  /** Pruned after a report said so; the value defaults to the last intermediate one. */
  z.strictObject({ state: z.literal('pruned'), value: z.number().finite().optional() }),
  z.strictObject({ state: z.literal('failed'), reason: z.string().max(2000).optional() }),
]);

export type Tell = z.infer<typeof tellSchema>;

/**
 * Records a running trial's outcome. A trial that is not running (told already, or failed for
 * missing heartbeats) refuses with `trial_not_running` and keeps what it has. A trial that ran
 * when its study completed is still told (as Optuna lets running trials finish). The tell that
 * finishes the last trial of a study's budget completes the study, in the same transaction.
 */
export async function tellTrial(
  tx: Queryable,
  studyId: string,
  number: number,
  tell: Tell,
): Promise<Trial> {
  const parsed = tellSchema.safeParse(tell);
  if (!parsed.success) {
    throw new ValidationError(
      'The result does not validate: a complete trial needs a finite value.',
      parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    );
  }
  const outcome = parsed.data;
  let study = await getStudy(tx, studyId);

  // A running study with a budget: its row is locked (before the trial's, in the order asks
  // take them) so that concurrent tells count each other and exactly one completes the study.
  const budgeted = study.status === 'running' && study.maxTrials !== null;
  if (budgeted) study = await getStudy(tx, studyId, { lock: true });

  const value = outcome.state === 'failed' ? null : (outcome.value ?? null);
  const [row] = await tx.query<TrialRow>(
    `update public.study_trials t
     set state = $3, finished_at = now(), fail_reason = $5,
         value = case when $3 = 'pruned' and $4::float8 is null
                      then (select r.value from public.study_trial_reports r
                            where r.trial_id = t.id order by r.step desc limit 1)
                      else $4::float8 end
     where study_id = $1 and number = $2 and state = 'running'
     returning *`,
    [
      studyId,
      number,
      outcome.state,
      value,
      outcome.state === 'failed' ? (outcome.reason ?? 'failed by the worker') : null,
    ],
  );
  if (!row) throw await notRunning(tx, studyId, number);

  if (budgeted) await completeIfBudgetSpent(tx, study);
  return trialFromRow(row);
}

/** Keeps a running trial alive: its worker is still at it. */
export async function heartbeatTrial(
  tx: Queryable,
  studyId: string,
  number: number,
): Promise<void> {
  const rows = await tx.query(
    `update public.study_trials set heartbeat_at = now()
     where study_id = $1 and number = $2 and state = 'running' returning id`,
    [studyId, number],
  );
  if (rows.length === 0) throw await notRunning(tx, studyId, number);
}

/**
 * Records an intermediate value of a running trial at `step` (which also counts as a heartbeat)
 * and answers whether the study's pruner would stop it now. A step reported twice keeps its
 * first value, as Optuna does.
 */
export async function reportIntermediate(
  tx: Queryable,
  studyId: string,
  number: number,
  report: { step: number; value: number },
): Promise<{ shouldPrune: boolean }> {
  if (!Number.isInteger(report.step) || report.step < 0 || Number.isNaN(report.step)) {
    throw new ValidationError('A report needs a whole step of at least 0.', [
      { path: 'step', message: 'a whole number >= 0' },
    ]);
  }
  const study = await getStudy(tx, studyId);
  const [trial] = await tx.query<{ id: string }>(
    `update public.study_trials set heartbeat_at = now()
     where study_id = $1 and number = $2 and state = 'running' returning id`,
    [studyId, number],
  );
  if (!trial) throw await notRunning(tx, studyId, number);

  await tx.query(
    `insert into public.study_trial_reports (trial_id, study_id, step, value)
     values ($1, $2, $3, $4) on conflict (trial_id, step) do nothing`,
    [trial.id, studyId, report.step, report.value],
  );
  if (study.pruner.type === 'none') return { shouldPrune: false };

  const own = await tx.query<{ step: number; value: number }>(
    'select step, value from public.study_trial_reports where trial_id = $1',
    [trial.id],
  );
  const [peers] = await tx.query<{ completed: number; step_values: number[] | null }>(
    `select (select count(*)::int from public.study_trials
             where study_id = $1 and state = 'complete') as completed,
            (select array_agg(r.value) from public.study_trial_reports r
             join public.study_trials t on t.id = r.trial_id
             where r.study_id = $1 and r.step = $2 and t.state = 'complete') as step_values`,
    [studyId, report.step],
  );
  return {
    shouldPrune: shouldPrune({
      direction: study.direction,
      options: study.pruner,
      step: report.step,
      intermediate: new Map(own.map((r) => [r.step, Number(r.value)])),
      completedTrials: peers?.completed ?? 0,
      valuesAtStep: (peers?.step_values ?? []).map(Number),
    }),
  };
}

async function notRunning(tx: Queryable, studyId: string, number: number): Promise<Error> {
  const [row] = await tx.query<{ state: string }>(
    'select state from public.study_trials where study_id = $1 and number = $2',
    [studyId, number],
  );
  return row ? new TrialNotRunningError(number, row.state) : new UnknownTrialError(studyId, number);
}
