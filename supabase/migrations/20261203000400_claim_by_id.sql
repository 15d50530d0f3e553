-- Claims pick their jobs in the ready index's order and update them by primary key. The first
-- version joined the picked ids back to the table, which the planner answered with a hash join
-- over a scan of every job: a cost that grew with the table and dominated small claims.
create or replace function kai.claim_jobs(
  p_worker text,
  p_types text[],
  p_limit integer,
  p_lease_ms integer
) returns setof public.jobs
  language plpgsql
  set search_path = ''
  as $$
declare
  v_class record;
  v_running integer;
  v_free integer;
  v_model text;
  v_found boolean;
  v_ids uuid[];
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
    if v_model is null then
      select array_agg(picked.id) into v_ids
        from (
          select j.id from public.jobs j
          where j.queue = v_class.name and j.status in ('queued', 'failed')
            and j.run_at <= now() and j.type = any(p_types) and j.model is null
          order by j.priority desc, j.run_at, j.created_at
          limit v_free
          for update skip locked
        ) picked;
    else
      select array_agg(picked.id) into v_ids
        from (
          select j.id from public.jobs j
          where j.queue = v_class.name and j.status in ('queued', 'failed')
            and j.run_at <= now() and j.type = any(p_types) and j.model = v_model
          order by j.priority desc, j.run_at, j.created_at
          limit v_free
          for update skip locked
        ) picked;
    end if;

    -- In the order they were picked, which is the order the pool starts them in.
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
          progress_message = null
        from unnest(v_ids) as picked(id)
        where j.id = picked.id
        returning j.*
      )
      select * from claimed c order by c.priority desc, c.run_at, c.created_at;

    -- A class that had nothing to do must not bank its unused share and then starve the others.
    update kai.queue_classes set pass = greatest(pass, v_class.pass), updated_at = now()
      where name = any(v_idle);
    update kai.queue_classes
      set pass = pass + coalesce(cardinality(v_ids), 0)::double precision / weight,
        updated_at = now()
      where name = v_class.name;
    return;
  end loop;
end
$$;
