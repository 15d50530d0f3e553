-- The pool's claims and completions, hundreds of rows a statement, were dominated by per-row
-- work: a NOTIFY per row from the jobs trigger (each one a plpgsql call, and more for the
-- listeners to read), updated_at set by another row trigger, a full table scan to find the
-- claimed rows again, and a CHECK on `queue` whose bounded repetition made the regex engine
-- some ten times slower than the same rule written otherwise. Listeners still hear of every
-- change: these statements send the changes themselves, many to a notification.

-- The same rule as before (a lowercase letter, then up to 62 of [a-z0-9_-]), cheaper to check;
-- every update of a row checks it again. NOT VALID, then validated, so that writes go on while
-- the existing rows are checked.
alter table public.jobs drop constraint jobs_queue_check;
alter table public.jobs add constraint jobs_queue_check
  check (queue ~ '^[a-z][a-z0-9_-]*$' and length(queue) <= 63) not valid;
alter table public.jobs validate constraint jobs_queue_check;

alter table kai.queue_classes drop constraint queue_classes_name_check;
alter table kai.queue_classes add constraint queue_classes_name_check
  check (name ~ '^[a-z][a-z0-9_-]*$' and length(name) <= 63);

-- One change of a job as JSON text: the object kai.notify_job_change sends, key for key. Built
-- by concatenation, which costs a third of json_build_object; only the free-text columns need
-- escaping (type and queue are held to their patterns, the rest are uuids, numbers, a status).
-- Scalar arguments, each used once, so that the planner inlines it into the statement.
create function kai.job_change(
  p_op text,
  p_id uuid,
  p_type text,
  p_queue text,
  p_model text,
  p_owner_id uuid,
  p_status text,
  p_progress smallint,
  p_progress_message text,
  p_cancel_requested boolean
) returns text
  language sql stable
  as $$
    select '{"op":"' || p_op || '","id":"' || p_id || '","type":"' || p_type
      || '","queue":"' || p_queue
      || '","model":' || coalesce(pg_catalog.to_json(p_model)::text, 'null')
      || ',"ownerId":' || coalesce('"' || p_owner_id || '"', 'null')
      || ',"status":"' || p_status || '","progress":' || p_progress
      || ',"progressMessage":'
      || coalesce(pg_catalog.to_json(p_progress_message)::text, 'null')
      || ',"cancelRequested":' || p_cancel_requested || '}'
  $$;

-- Sends changes (kai.job_change texts, in order) on kai_jobs as JSON arrays, as few as fit
-- under NOTIFY's 8000-byte payload limit: consecutive changes of up to 900 bytes share one as
-- long as the running length stays within a 7000-byte window, so no array passes
-- 7000 + 900 bytes; a larger change goes alone. Returns how many notifications it sent.
create function kai.notify_job_changes(p_changes text[]) returns integer
  language sql volatile
  set search_path = ''
  as $$
    select count(*)::integer from (
      select pg_catalog.pg_notify(
        'kai_jobs', '[' || pg_catalog.string_agg(c.change, ',' order by c.n) || ']')
      from (
        select u.change, u.n,
          case when octet_length(u.change) > 900 then -u.n
          else (sum(octet_length(u.change) + 1) filter (where octet_length(u.change) <= 900)
                  over (order by u.n) - 1) / 7000
          end as chunk
        from unnest(p_changes) with ordinality as u(change, n)
      ) c
      group by c.chunk
    ) sent
  $$;

-- The row trigger stays quiet for a statement that announces its own changes: such a statement
-- runs with kai.job_changes_batched = 'on', local to its transaction, and resets it after.
drop trigger jobs_notify_change on public.jobs;
create trigger jobs_notify_change
  after update of status, progress, progress_message, cancel_requested_at on public.jobs
  for each row
  when (
    (
      old.status is distinct from new.status
      or old.progress is distinct from new.progress
      or old.progress_message is distinct from new.progress_message
      or old.cancel_requested_at is distinct from new.cancel_requested_at
    )
    and current_setting('kai.job_changes_batched', true) is distinct from 'on'
  )
  execute function kai.notify_job_change();

-- A statement that sets updated_at itself needs no trigger to do it again.
drop trigger jobs_touch_updated_at on public.jobs;
create trigger jobs_touch_updated_at
  before update on public.jobs
  for each row
  when (new.updated_at is not distinct from old.updated_at)
  execute function kai.touch_updated_at();

-- As before (stride scheduling over the classes, one model a claim, expired leases reclaimed
-- first), but the picked rows are updated by their physical address, in one statement that
-- also sends their changes. The planner judged a TID scan of a few hundred rows dearer than a
-- scan of the whole table; with sequential scans off for this function it takes the TID scan,
-- and every other query here has an index of its own.
create or replace function kai.claim_jobs(
  p_worker text,
  p_types text[],
  p_limit integer,
  p_lease_ms integer
) returns setof public.jobs
  language plpgsql
  set search_path = ''
  set enable_seqscan = off
  as $$
declare
  v_class record;
  v_running integer;
  v_free integer;
  v_model text;
  v_found boolean;
  v_picked tid[];
  v_claimed integer;
  v_idle text[] := '{}';
begin
  perform kai.reclaim_expired_leases();

  -- Every class row is locked first, in name order: concurrent claims queue up behind each
  -- other instead of deadlocking (pass order changes with every claim), and no two claims can
  -- overshoot a class's concurrency.
  perform 1 from kai.queue_classes order by name for update;

  for v_class in
    select * from kai.queue_classes order by pass, name
  loop
    select count(*) into v_running
      from public.jobs where queue = v_class.name and status = 'running';
    v_free := least(p_limit, v_class.concurrency - v_running);
    if v_free <= 0 then
      continue;
    end if;

    select j.model, true into v_model, v_found
      from public.jobs j
      where j.queue = v_class.name and j.status in ('queued', 'failed')
        and j.run_at <= now() and j.type = any(p_types)
      order by j.priority desc, j.run_at, j.created_at
      limit 1
      for update skip locked;
    if v_found is null then
      v_idle := v_idle || v_class.name;
      continue;
    end if;

    -- Two statements rather than `model is not distinct from v_model`, which the planner
    -- cannot estimate in a cached plan and answered with a scan and sort of the whole table.
    -- The rows stay locked until the transaction ends, so their addresses hold.
    if v_model is null then
      select array_agg(picked.ctid) into v_picked
        from (
          select j.ctid from public.jobs j
          where j.queue = v_class.name and j.status in ('queued', 'failed')
            and j.run_at <= now() and j.type = any(p_types) and j.model is null
          order by j.priority desc, j.run_at, j.created_at
          limit v_free
          for update skip locked
        ) picked;
    else
      select array_agg(picked.ctid) into v_picked
        from (
          select j.ctid from public.jobs j
          where j.queue = v_class.name and j.status in ('queued', 'failed')
            and j.run_at <= now() and j.type = any(p_types) and j.model = v_model
          order by j.priority desc, j.run_at, j.created_at
          limit v_free
          for update skip locked
        ) picked;
    end if;

    -- In the order they were picked, which is the order the pool starts them in.
    perform set_config('kai.job_changes_batched', 'on', true);
    return query
      with claimed as (
        update public.jobs j set
          status = 'running',
          attempts = j.attempts + 1,
          lease_token = gen_random_uuid(),
          lease_expires_at = now() + p_lease_ms * interval '1 millisecond',
          worker_id = p_worker,
          started_at = now(),
          progress = 0,
          progress_message = null,
          updated_at = now()
        where j.ctid = any(v_picked) and j.status in ('queued', 'failed')
        returning j.*
      ),
      notified as (
        select kai.notify_job_changes(array_agg(kai.job_change(
          'update', c.id, c.type, c.queue, c.model, c.owner_id, c.status, c.progress,
          c.progress_message, c.cancel_requested_at is not null
        ))) as sent
        from claimed c
      )
      select c.* from claimed c cross join notified
      order by c.priority desc, c.run_at, c.created_at;
    get diagnostics v_claimed = row_count;
    perform set_config('kai.job_changes_batched', '', true);

    -- A class that had nothing to do must not bank its unused share and then starve the others.
    update kai.queue_classes set pass = greatest(pass, v_class.pass), updated_at = now()
      where name = any(v_idle);
    update kai.queue_classes
      set pass = pass + v_claimed::double precision / weight, updated_at = now()
      where name = v_class.name;
    return;
  end loop;
end
$$;

-- Completes held jobs (id, lease token and result, as JSON text, at the same index of each
-- array) in one statement that also sends their changes, and returns the ids completed. A job
-- whose token is not current or whose lease expired is left alone and missing from the answer.
create function kai.complete_jobs(p_ids uuid[], p_tokens uuid[], p_results text[])
  returns setof uuid
  language plpgsql
  set search_path = ''
  as $$
begin
  perform set_config('kai.job_changes_batched', 'on', true);
  return query
    with completed as (
      update public.jobs j set
        status = 'completed', result = c.result::jsonb, error = null, progress = 100,
        finished_at = now(), lease_token = null, lease_expires_at = null, updated_at = now()
      from unnest(p_ids, p_tokens, p_results) as c(id, token, result)
      where j.id = c.id and j.lease_token = c.token and j.status = 'running'
        and j.lease_expires_at > now()
      returning j.id, j.type, j.queue, j.model, j.owner_id, j.status, j.progress,
        j.progress_message, j.cancel_requested_at
    ),
    notified as (
      select kai.notify_job_changes(array_agg(kai.job_change(
        'update', d.id, d.type, d.queue, d.model, d.owner_id, d.status, d.progress,
        d.progress_message, d.cancel_requested_at is not null
      ))) as sent
      from completed d
    )
    select d.id from completed d cross join notified;
  perform set_config('kai.job_changes_batched', '', true);
end
$$;

revoke execute on function kai.job_change(text, uuid, text, text, text, uuid, text, smallint,
  text, boolean), kai.notify_job_changes(text[]), kai.complete_jobs(uuid[], uuid[], text[])
  from public;
grant execute on function kai.job_change(text, uuid, text, text, text, uuid, text, smallint,
  text, boolean), kai.notify_job_changes(text[]), kai.complete_jobs(uuid[], uuid[], text[])
  to service_role;
