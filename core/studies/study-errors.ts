import { KaiError } from '../errors.ts';

/** A study that does not exist or that the caller may not see. */
export class UnknownStudyError extends KaiError {
  constructor(studyId: string) {
    super({
      code: 'unknown_study',
      status: 404,
      title: 'Unknown study',
      detail: `There is no study ${studyId} that you can see.`,
    });
  }
}

/** A trial number the study never handed out. */
export class UnknownTrialError extends KaiError {
  constructor(studyId: string, number: number) {
    super({
      code: 'unknown_trial',
      status: 404,
      title: 'Unknown trial',
      detail: `Study ${studyId} has no trial ${number}; ask for a trial first.`,
    });
  }
}

/**
 * A tell, report or heartbeat for a trial that is not running: already told, or failed
 * because its worker stopped heartbeating. Its parameters were not recorded again.
 */
export class TrialNotRunningError extends KaiError {
  constructor(number: number, state: string) {
    super(
      {
        code: 'trial_not_running',
        status: 409,
        title: 'Trial not running',
        detail:
          `Trial ${number} is ${state}, not running, so it takes no more results. A trial ` +
          'whose worker misses its heartbeats is failed; ask for a new trial.',
      },
      { extensions: { state } },
    );
  }
}

/** Promotion needs a complete trial, and a study tied to a material and a task. */
export class NothingToPromoteError extends KaiError {
  constructor(detail: string) {
    super({ code: 'nothing_to_promote', status: 409, title: 'Nothing to promote', detail });
  }
}

/**
 * A study that has completed takes no new trials: no ask, no enqueue, no warm start, and no
 * second completion. Trials that were running when it completed may still be told.
 */
export class StudyCompletedError extends KaiError {
  constructor(studyId: string, completedAt: string | null) {
    super(
      {
        code: 'study_completed',
        status: 409,
        title: 'Study completed',
        detail:
          `Study ${studyId} completed at ${completedAt ?? 'an unknown time'} and hands out no ` +
          'more trials. Create a new study (warm-started from this one) to search on.',
      },
      { extensions: { completedAt } },
    );
  }
}

/**
 * Every trial of the study's budget is handed out: finished ones and running ones together
 * make `maxTrials`. The study completes when the running ones are told (or fail).
 */
export class TrialBudgetSpentError extends KaiError {
  constructor(studyId: string, maxTrials: number, running: number) {
    super(
      {
        code: 'trial_budget_spent',
        status: 409,
        title: 'Trial budget spent',
        detail:
          `All ${maxTrials} trials of study ${studyId}'s budget are handed out; ${running} ` +
          'still run. The study completes when they are told; this worker can stop.',
      },
      { extensions: { maxTrials, running } },
    );
  }
}
