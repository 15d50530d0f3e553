import type { Database } from '../db/database.ts';
import { completeIfBudgetSpent } from './complete-study.ts';
import { failStaleTrials } from './stale-trials.ts';
import { getStudy } from './studies.ts';

/**
 * Fails stale running trials in every study, not only those someone asks of (ask does it for
 * its own study): for housekeeping. Each study is handled in its own transaction under its
 * row lock, as `askTrial` does; a study whose budget the failures spend completes in that
 * transaction. Returns how many trials were failed.
 */
export async function sweepStaleTrials(db: Database): Promise<number> {
  const studies = await db.query<{ study_id: string }>(
    `select distinct t.study_id from public.study_trials t
     join public.studies s on s.id = t.study_id
     where t.state = 'running'
       and coalesce(t.heartbeat_at, t.started_at)
           < now() - make_interval(secs => s.heartbeat_timeout_ms / 1000.0)`,
  );
  let failed = 0;
  for (const { study_id } of studies) {
    failed += await db.transaction(async (tx) => {
      const study = await getStudy(tx, study_id, { lock: true });
      const count = await failStaleTrials(tx, study);
      await completeIfBudgetSpent(tx, study);
      return count;
    });
  }
  return failed;
}
