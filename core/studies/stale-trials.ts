import type { Queryable } from '../db/database.ts';
import type { Study } from './studies.ts';

/**
 * Fails the study's running trials whose last heartbeat (or start) is older than its
 * `heartbeatTimeoutMs`, as Optuna's heartbeat does, and queues fixed-parameter ones (enqueued,
 * warm-start) again as `retry` trials so the parameters someone chose are still tried; sampler
 * trials are not repeated, the sampler will choose anew. A completed study retries nothing: it
 * would never hand the retries out. Call with the study's row locked. Returns how many were
 * failed.
 */
export async function failStaleTrials(tx: Queryable, study: Study): Promise<number> {
  const failed = await tx.query<{ number: number; params: unknown; source: string }>(
    `update public.study_trials
     set state = 'failed', finished_at = now(),
         fail_reason = 'no heartbeat for ' || $2::int || ' ms; the worker is presumed gone'
     where study_id = $1 and state = 'running'
       and coalesce(heartbeat_at, started_at) < now() - make_interval(secs => $2::int / 1000.0)
     returning number, params, source`,
    [study.id, study.heartbeatTimeoutMs],
  );

  const retried = study.status === 'completed' ? [] : failed.filter((t) => t.source !== 'sampler');
  if (retried.length > 0) {
    await tx.query(
      `with numbered as (
         update public.studies set next_trial_number = next_trial_number + $2
         where id = $1 returning next_trial_number - $2 as first
       )
       insert into public.study_trials (study_id, number, state, params, source, origin)
       select $1, numbered.first + r.i, 'waiting', r.params, 'retry',
              jsonb_build_object('retryOf', r.number)
       from numbered, jsonb_to_recordset($3::jsonb) as r(number int, params jsonb, i int)`,
      [
        study.id,
        retried.length,
        retried.map((t, i) => ({ number: t.number, params: t.params, i })),
      ],
    );
  }
  return failed.length;
}
