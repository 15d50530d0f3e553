import type { Queryable } from '../db/database.ts';

/** What a pruning pass removed. */
export interface PruneResult {
  deletedVersions: number;
}

/**
 * Deletes parameter-set versions older than `retentionDays` (PARAM_HISTORY_RETENTION_DAYS),
 * except each set's active version and its best-scored one, which are kept whatever their
 * age. Each set that lost versions gets a `pruned` line in its change log, naming them.
 * Runs as one statement; safe to repeat.
 */
export async function pruneParameterHistory(
  db: Queryable,
  options: { retentionDays: number },
): Promise<PruneResult> {
  const [row] = await db.query<{ deleted: number }>(
    `with keep as (
       select active_version_id as id from public.parameter_sets
       where active_version_id is not null
       union
       (select distinct on (v.set_id) v.id
        from public.parameter_set_versions v
        join public.parameter_sets s on s.id = v.set_id
        join public.registry_tasks t on t.name = s.task
        where v.score is not null
        order by v.set_id,
          case when t.score_direction = 'maximize' then -v.score else v.score end, v.version desc)
     ), deleted as (
       delete from public.parameter_set_versions v
       where v.created_at < now() - make_interval(days => $1)
         and v.id not in (select id from keep)
       returning v.set_id, v.version
     ), logged as (
       insert into public.parameter_set_changes (set_id, version_id, version, action, detail)
       select set_id, null, null, 'pruned',
         jsonb_build_object('versions', jsonb_agg(version order by version),
                            'retentionDays', $1::int)
       from deleted group by set_id
     )
     select count(*)::int as deleted from deleted`,
    [options.retentionDays],
  );
  return { deletedVersions: row?.deleted ?? 0 };
}
