import type { Queryable } from '../db/database.ts';
import { chooseParams } from './choose-params.ts';
import { completeIfBudgetSpent, tallyTrials } from './complete-study.ts';
import type { ParamValues } from './search-space.ts';
import { failStaleTrials } from './stale-trials.ts';
import { getStudy, type Trial, type TrialRow, trialFromRow } from './studies.ts';
import { StudyCompletedError, TrialBudgetSpentError } from './study-errors.ts';
import type { FinishedTrial, PriorObservation } from './trial-history.ts';

/**
 * What an ask comes to: a running trial, or a refusal whose transaction should still commit,
 * since the ask may have failed stale trials and completed the study on the way.
 */
export type AskOutcome =
  | { trial: Trial }
  | { refused: StudyCompletedError | TrialBudgetSpentError };

/**
 * Gives a worker its next trial, as Optuna's `study.ask()`; see `tryAskTrial`. A refusal is
 * thrown, so the caller's transaction rolls back what the ask did on the way.
 */
export async function askTrial(
  tx: Queryable,
  studyId: string,
  options: { workerId?: string | undefined } = {},
): Promise<Trial> {
  const outcome = await tryAskTrial(tx, studyId, options);
  if ('refused' in outcome) throw outcome.refused;
  return outcome.trial;
}

/**
 * Gives a worker its next trial, as Optuna's `study.ask()`: the oldest waiting (enqueued or
 * warm-start) trial if there is one, else new parameters from the study's sampler. Run it in a
 * transaction: the study's row is locked while the trial is chosen, so concurrent workers get
 * unique, consecutive numbers and each sampler draw sees every trial told before it. Running
 * trials whose workers stopped heartbeating are failed first.
 *
 * A completed study refuses (`study_completed`). So does a study with a budget whose finished
 * and running trials make `maxTrials` already (`trial_budget_spent`): no more trials run than
 * the budget holds. When failing stale trials spends the budget, the study completes here.
 */
export async function tryAskTrial(
  tx: Queryable,
  studyId: string,
  options: { workerId?: string | undefined } = {},
): Promise<AskOutcome> {
  const study = await getStudy(tx, studyId, { lock: true });
  if (study.status === 'completed') {
    return { refused: new StudyCompletedError(study.id, study.completedAt) };
  }
  await failStaleTrials(tx, study);

  if (study.maxTrials !== null) {
    const tally = await tallyTrials(tx, study.id);
    const completed = await completeIfBudgetSpent(tx, study, tally);
    if (completed) {
      return { refused: new StudyCompletedError(completed.id, completed.completedAt) };
    }
    if (tally.finished + tally.running >= study.maxTrials) {
      return { refused: new TrialBudgetSpentError(study.id, study.maxTrials, tally.running) };
    }
  }

  // A waiting trial first: fixed parameters someone (or a warm start) queued.
  const [waiting] = await tx.query<TrialRow>(
    `update public.study_trials
     set state = 'running', worker_id = $2, started_at = now(), heartbeat_at = now()
     where id = (select id from public.study_trials
                 where study_id = $1 and state = 'waiting' order by number limit 1)
     returning *`,
    [study.id, options.workerId ?? null],
  );
  if (waiting) return { trial: trialFromRow(waiting) };

  // Otherwise the sampler, on everything finished so far and the warm-start priors.
  // Running trials are shown to TPE only with `constantLiar`, as in Optuna.
  const finished = await tx.query<FinishedTrial>(
    `select number, params, state, value from public.study_trials
     where study_id = $1 and state in ('complete', 'pruned') order by number`,
    [study.id],
  );
  const priors = await tx.query<PriorObservation>(
    'select params, good, weight from public.study_priors where study_id = $1 order by id',
    [study.id],
  );
  const running =
    study.sampler.type === 'tpe' && study.sampler.constantLiar
      ? (
          await tx.query<{ params: ParamValues }>(
            `select params from public.study_trials
             where study_id = $1 and state = 'running' order by number`,
            [study.id],
          )
        ).map((r) => r.params)
      : undefined;
  const number = await takeTrialNumber(tx, study.id);
  const params = chooseParams(study.space, study.sampler, study.sampler.seed, number, {
    direction: study.direction,
    trials: finished,
    priors,
    running,
  });

  const [row] = await tx.query<TrialRow>(
    `insert into public.study_trials
       (study_id, number, state, params, source, worker_id, started_at, heartbeat_at)
     values ($1, $2, 'running', $3::jsonb, 'sampler', $4, now(), now())
     returning *`,
    [study.id, number, params, options.workerId ?? null],
  );
  return { trial: trialFromRow(row as TrialRow) };
}

/** Takes the study's next trial number; call with the study's row locked. */
export async function takeTrialNumber(tx: Queryable, studyId: string): Promise<number> {
  const [row] = await tx.query<{ number: number }>(
    `update public.studies set next_trial_number = next_trial_number + 1
     where id = $1 returning next_trial_number - 1 as number`,
    [studyId],
  );
  return (row as { number: number }).number;
}
