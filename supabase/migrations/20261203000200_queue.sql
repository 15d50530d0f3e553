-- The queue on the jobs table: classes with global concurrency and weighted shares, leases with
-- fencing tokens, retries, cancellation, idempotency keys and the depth KEDA scales on.

alter table public.jobs
  add column queue text not null default 'batch' check (queue ~ '^[a-z][a-z0-9_-]{0,62}$'),
  -- The model the job's handler runs: a claim takes jobs of one model, so a batch fills.
  add column model text,
  add column timeout_ms integer check (timeout_ms between 1 and 86400000),
  add column idempotency_key text check (length(idempotency_key) between 1 and 255),
  -- Fencing: a new token per attempt. Only the holder of the current token, before its lease
  -- expires, may report progress, complete or fail the job.
  add column lease_token uuid,
  add column lease_expires_at timestamptz,
  -- The worker of the latest attempt; kept after it ends, for the record.
  add column worker_id text,
  add column cancel_requested_at timestamptz;

-- Same owner and key: the same job. NULL owners (system jobs) share one key space.
create unique index jobs_idempotency_idx on public.jobs (owner_id, idempotency_key)
  nulls not distinct where idempotency_key is not null;

drop index public.jobs_runnable_idx;
create index jobs_ready_idx on public.jobs (queue, priority desc, run_at, created_at)
  where status in ('queued', 'failed');
create index jobs_running_idx on public.jobs (queue, lease_expires_at) where status = 'running';
create index jobs_finished_idx on public.jobs (finished_at)
  where status in ('completed', 'cancelled', 'dead');

-- Listeners also hear of cancellation requests, which the pool turns into an AbortSignal.
create or replace function kai.notify_job_change() returns trigger
  language plpgsql
  set search_path = ''
  as $$
begin
  perform pg_notify('kai_jobs', json_build_object(
    'op', lower(tg_op),
    'id', new.id,
    'type', new.type,
    'queue', new.queue,
    'model', new.model,
    'ownerId', new.owner_id,
    'status', new.status,
    'progress', new.progress,
    'progressMessage', new.progress_message,
    'cancelRequested', new.cancel_requested_at is not null
  )::text);
  return null;
end
$$;

drop trigger jobs_notify_change on public.jobs;
create trigger jobs_notify_change
  after update of status, progress, progress_message, cancel_requested_at on public.jobs
  for each row
  when (
    old.status is distinct from new.status
    or old.progress is distinct from new.progress
    or old.progress_message is distinct from new.progress_message
    or old.cancel_requested_at is distinct from new.cancel_requested_at
  )
  execute function kai.notify_job_change();

-- Queue classes, synchronised from KAI_QUEUES by every pool at start. `pass` is the class's
-- virtual time for stride scheduling: the class with the lowest pass claims next and advances
-- by claimed / weight, so over many claims each class gets its weight's share.
create table kai.queue_classes (
  name text primary key check (name ~ '^[a-z][a-z0-9_-]{0,62}$'),
  concurrency integer not null check (concurrency between 1 and 100000),
  weight integer not null check (weight between 1 and 1000000),
  pass double precision not null default 0,
  updated_at timestamptz not null default now()
);

alter table kai.queue_classes enable row level security;
create policy queue_classes_service_all on kai.queue_classes
  for all to service_role using (true) with check (true);

-- Claims up to p_limit ready jobs of one class and one model for worker p_worker, within the
-- class's global concurrency, choosing the class by stride scheduling. Expired leases are
-- returned to the queue first (or made dead when no attempts are left).
create function kai.claim_jobs(
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

    return query
      with picked as (
        select j.id from public.jobs j
        where j.queue = v_class.name and j.status in ('queued', 'failed')
          and j.run_at <= now() and j.type = any(p_types)
          and j.model is not distinct from v_model
        order by j.priority desc, j.run_at, j.created_at
        limit v_free
        for update skip locked
      )
      update public.jobs j set
        status = 'running',
        attempts = j.attempts + 1,
        lease_token = gen_random_uuid(),
        lease_expires_at = now() + p_lease_ms * interval '1 millisecond',
        worker_id = p_worker,
        started_at = now(),
        progress = 0,
        progress_message = null
      from picked
      where j.id = picked.id
      returning j.*;
    get diagnostics v_claimed = row_count;

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

-- Returns expired leases to the queue: as failed with a retry when attempts are left, dead
-- otherwise. The expired token stops working at once, since the lease is gone.
create function kai.reclaim_expired_leases() returns integer
  language plpgsql
  set search_path = ''
  as $$
declare
  v_count integer;
begin
  update public.jobs set
    status = case when attempts >= max_attempts then 'dead' else 'failed' end,
    error = jsonb_build_object(
      'code', 'lease_expired',
      'message', 'The worker stopped renewing its lease before the job finished.',
      'workerId', worker_id
    ),
    finished_at = case when attempts >= max_attempts then now() end,
    run_at = now(),
    lease_token = null,
    lease_expires_at = null
  where id in (
    select id from public.jobs
    where status = 'running' and lease_expires_at < now()
    for update skip locked
  );
  get diagnostics v_count = row_count;
  return v_count;
end
$$;

-- Queue depth per class for autoscaling (KEDA's postgresql scaler reads one number: use
-- `select kai.queue_depth('interactive')`, or the sum over classes).
create function kai.queue_depth(p_queue text default null) returns bigint
  language sql stable
  set search_path = ''
  as $$
    select count(*) from public.jobs
    where (p_queue is null or queue = p_queue)
      and (status = 'running' or (status in ('queued', 'failed') and run_at <= now()))
  $$;


-- Only the service role runs the queue; functions are executable by PUBLIC unless revoked.
revoke execute on function kai.claim_jobs(text, text[], integer, integer),
  kai.reclaim_expired_leases(), kai.queue_depth(text) from public;
grant usage on schema kai to service_role;
grant all on kai.queue_classes to service_role;
grant execute on function kai.claim_jobs(text, text[], integer, integer),
  kai.reclaim_expired_leases(), kai.queue_depth(text) to service_role;
