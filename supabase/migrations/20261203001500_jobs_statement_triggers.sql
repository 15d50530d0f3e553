-- The jobs table's after-triggers run once per statement over its transition tables instead of
-- once per row. A claim or a batched completion changes hundreds of rows in one statement; a
-- plpgsql call for each of them, for each trigger, cost more than the update itself. Nothing
-- changes for listeners: every row still gets its own notification and outcome event, in the
-- same transaction, in the same form.

-- NOTIFY kai_jobs, one per new job.
drop trigger jobs_notify_insert on public.jobs;

create function kai.notify_jobs_inserted() returns trigger
  language plpgsql
  set search_path = ''
  as $$
begin
  perform pg_notify('kai_jobs', json_build_object(
    'op', 'insert',
    'id', n.id,
    'type', n.type,
    'queue', n.queue,
    'model', n.model,
    'ownerId', n.owner_id,
    'status', n.status,
    'progress', n.progress,
    'progressMessage', n.progress_message,
    'cancelRequested', n.cancel_requested_at is not null
  )::text)
  from new_jobs n;
  return null;
end
$$;

create trigger jobs_notify_insert
  after insert on public.jobs
  referencing new table as new_jobs
  for each statement execute function kai.notify_jobs_inserted();

-- NOTIFY kai_jobs, one per job whose status, progress or cancellation changed; heartbeats
-- (lease renewals) notify nobody.
drop trigger jobs_notify_change on public.jobs;

-- Transition tables carry no statistics, and a nested loop over two of them is quadratic in
-- the rows of the statement; the joins here are hash joins by construction.
create function kai.notify_jobs_changed() returns trigger
  language plpgsql
  set search_path = ''
  set enable_nestloop = off
  as $$
begin
  perform pg_notify('kai_jobs', json_build_object(
    'op', 'update',
    'id', n.id,
    'type', n.type,
    'queue', n.queue,
    'model', n.model,
    'ownerId', n.owner_id,
    'status', n.status,
    'progress', n.progress,
    'progressMessage', n.progress_message,
    'cancelRequested', n.cancel_requested_at is not null
  )::text)
  from new_jobs n join old_jobs o on o.id = n.id
  where o.status is distinct from n.status
    or o.progress is distinct from n.progress
    or o.progress_message is distinct from n.progress_message
    or o.cancel_requested_at is distinct from n.cancel_requested_at;
  return null;
end
$$;

-- Outcome events (job.completed, job.failed, job.dead) for the jobs that reached one, written
-- in the transaction that settled them. Internal job types (`kai.*`) announce nothing.
drop trigger jobs_outcome_event on public.jobs;

-- Security definer: the statement runs for any writer of jobs, such as a user cancelling their
-- own job, who may not write the outbox.
create function kai.job_outcome_events() returns trigger
  language plpgsql
  security definer
  set search_path = ''
  set enable_nestloop = off
  as $$
begin
  insert into kai.events (type, owner_id, subject, data, critical)
  select
    'job.' || n.status,
    n.owner_id,
    n.id::text,
    jsonb_build_object(
      'jobId', n.id,
      'type', n.type,
      'status', n.status,
      'attempts', n.attempts,
      'maxAttempts', n.max_attempts,
      'result', case when n.status = 'completed' then n.result end,
      'error', case when n.status <> 'completed' then n.error end,
      'finishedAt', n.finished_at
    ),
    n.status = 'dead'
  from new_jobs n join old_jobs o on o.id = n.id
  where o.status is distinct from n.status
    and n.status in ('completed', 'failed', 'dead')
    and n.type not like 'kai.%';
  return null;
end
$$;

-- Transition tables cannot be combined with a column list, so these fire on every update
-- statement and pick the rows that changed themselves.
create trigger jobs_notify_change
  after update on public.jobs
  referencing old table as old_jobs new table as new_jobs
  for each statement execute function kai.notify_jobs_changed();

create trigger jobs_outcome_events
  after update on public.jobs
  referencing old table as old_jobs new table as new_jobs
  for each statement execute function kai.job_outcome_events();

-- Relays only need waking: one notification per statement that added events, not one per
-- event. The relay claims whatever is pending when it wakes.
drop trigger events_notify_insert on kai.events;

create function kai.notify_events_inserted() returns trigger
  language plpgsql
  set search_path = ''
  as $$
begin
  perform pg_notify('kai_events', json_build_object('count', count(*))::text)
    from new_events
    having count(*) > 0;
  return null;
end
$$;

create trigger events_notify_insert
  after insert on kai.events
  referencing new table as new_events
  for each statement execute function kai.notify_events_inserted();

-- The owner guard matters only for updates made as `authenticated`; the pool, the API's
-- service paths and migrations skip the plpgsql call altogether.
drop trigger jobs_guard_owner_update on public.jobs;
create trigger jobs_guard_owner_update
  before update on public.jobs
  for each row
  when (current_user = 'authenticated')
  execute function kai.guard_owner_job_update();

drop function kai.job_outcome_event();
drop function kai.notify_event();
drop function kai.notify_job_change();
