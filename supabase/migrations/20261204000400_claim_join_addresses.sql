-- A claim updated its picked rows with `ctid = any(v_picked)`, which the planner answered
-- with a bitmap scan of the ready index: every ready job of the class was read and tested
-- against the picked addresses, so a claim cost grew with the backlog (100,000 jobs waiting:
-- 100,000 rows read to update 500). Joined to the addresses instead, each picked row is one
-- TID lookup. The planner, which prices each lookup as a random read of a page, would rather
-- hash the whole backlog for a large claim; with hash and merge joins off for this function,
-- its joins are nested loops (the claim's other statements join nothing, and the reclaim's
-- semi-join then probes the primary key). The body is 20261204000200's, but for that join.
create or replace function kai.claim_jobs(
  p_worker text,
  p_types text[],
  p_limit integer,
  p_lease_ms integer
) returns setof kai.claimed_job
  language plpgsql
  set search_path = ''
  set enable_seqscan = off
  set enable_hashjoin = off
  set enable_mergejoin = off
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

  -- Nothing ready for these types: answer at once, as a read. Without this, a claim that
  -- finds nothing still locked every class row (an xid, WAL, a flushed commit) and made every
  -- other pool's claim wait behind it; a busy pool whose backlog is all claimed makes such
  -- claims after each batch and each notification.
  perform 1 from public.jobs j
    where j.status in ('queued', 'failed') and j.run_at <= now() and j.type = any(p_types)
    limit 1;
  if not found then
    return;
  end if;

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
        from unnest(v_picked) as picked(address)
        where j.ctid = picked.address and j.status in ('queued', 'failed')
        returning j.id, j.owner_id, j.type, j.queue, j.model, j.status, j.payload, j.priority,
          j.attempts, j.max_attempts, j.timeout_ms, j.lease_token, j.lease_expires_at,
          j.worker_id, j.run_at, j.created_at, j.progress, j.progress_message,
          j.cancel_requested_at
      ),
      notified as (
        select kai.notify_job_changes(array_agg(kai.job_change(
          'update', c.id, c.type, c.queue, c.model, c.owner_id, c.status, c.progress,
          c.progress_message, c.cancel_requested_at is not null
        ))) as sent
        from claimed c
      )
      select c.id, c.owner_id, c.type, c.queue, c.model, c.status, c.payload, c.priority,
        c.attempts, c.max_attempts, c.timeout_ms, c.lease_token, c.lease_expires_at,
        c.worker_id
      from claimed c cross join notified
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

