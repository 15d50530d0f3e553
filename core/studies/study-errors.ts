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
