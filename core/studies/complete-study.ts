import type { Queryable } from '../db/database.ts';
import { recordEvent } from '../events/record-event.ts';
import { getStudy, type Study, type StudyRow, studyFromRow, summarizeStudy } from './studies.ts';
import { StudyCompletedError } from './study-errors.ts';

/** Why a study completed: its owner ended it, or its trial budget was spent. */
export type CompletionReason = 'requested' | 'max_trials';

/** How many of a study's trials are finished (complete, pruned or failed) and running. */
export interface TrialTally {
  finished: number;
  running: number;
}

/** Counts the study's finished and running trials; call with the study's row locked. */
export async function tallyTrials(tx: Queryable, studyId: string): Promise<TrialTally> {
  const [row] = await tx.query<TrialTally>(
    `select count(*) filter (where state in ('complete', 'pruned', 'failed'))::int as finished,
            count(*) filter (where state = 'running')::int as running
     from public.study_trials where study_id = $1`,
    [studyId],
  );
  return row ?? { finished: 0, running: 0 };
}

/**
 * Ends a running study at its owner's request (`POST /v1/studies/{id}/complete`). Trials still
 * running may be told afterwards; no new one is handed out. A study that has completed already
 * refuses with `study_completed`, so `study.completed` is recorded once. Run in a transaction.
 */
export async function completeStudy(tx: Queryable, studyId: string): Promise<Study> {
  const study = await getStudy(tx, studyId, { lock: true });
  if (study.status === 'completed') throw new StudyCompletedError(study.id, study.completedAt);
  return await finishStudy(tx, study, 'requested');
}

/**
 * Completes a running study whose budget is spent: `maxTrials` trials finished. Call with the
 * study's row locked, after the change that finished a trial, in its transaction. Returns the
 * completed study, or null when it goes on running.
 */
export async function completeIfBudgetSpent(
  tx: Queryable,
  study: Study,
  tally?: TrialTally,
): Promise<Study | null> {
  if (study.status !== 'running' || study.maxTrials === null) return null;

  const { finished } = tally ?? (await tallyTrials(tx, study.id));
  if (finished < study.maxTrials) return null;
  return await finishStudy(tx, study, 'max_trials');
}

/**
 * Marks the study completed and records `study.completed` for its owner in the same
 * transaction: which study, why, its best trial and how many trials finished. The update only
 * takes a running study, so a study completes, and is announced, once.
 */
async function finishStudy(tx: Queryable, study: Study, reason: CompletionReason): Promise<Study> {
  const [row] = await tx.query<StudyRow>(
    `update public.studies set status = 'completed', completed_at = now()
     where id = $1 and status = 'running' returning *`,
    [study.id],
  );
  if (!row) throw new StudyCompletedError(study.id, study.completedAt);
  const completed = studyFromRow(row);

  // Limitation: the event tells the best trial as of now; a trial still running that is told
  // later and does better is shown by the study itself, not announced again.
  const { counts, best } = await summarizeStudy(tx, completed);
  await recordEvent(tx, {
    type: 'study.completed',
    ownerId: completed.ownerId,
    subject: completed.id,
    data: {
      studyId: completed.id,
      name: completed.name,
      reason,
      direction: completed.direction,
      maxTrials: completed.maxTrials,
      finishedTrials: counts.complete + counts.pruned + counts.failed,
      counts,
      bestTrial: best ? { number: best.number, value: best.value, params: best.params } : null,
      completedAt: completed.completedAt,
    },
  });
  return completed;
}
