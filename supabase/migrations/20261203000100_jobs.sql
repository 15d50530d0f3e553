-- The jobs table: what users submit and the GPU pool runs. Grown from the previous system's
-- queue_jobs; the queue adds its lease and class columns in later migrations.
create table public.jobs (
  id uuid primary key default gen_random_uuid(),
  -- The user who submitted the job (auth.uid() of their JWT). Not a foreign key: jobs of API
  -- keys and of locally minted tokens name users that auth.users may not hold.
  owner_id uuid,
  type text not null check (type ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$' and length(type) <= 100),
  -- queued: waiting to run (again); running: claimed by a worker; failed: an attempt failed and a
  -- retry is scheduled; dead: no attempts left; completed and cancelled are final too.
  status text not null default 'queued'
    check (status in ('queued', 'running', 'completed', 'failed', 'cancelled', 'dead')),
  payload jsonb not null default '{}',
  result jsonb,
  error jsonb,
  priority integer not null default 0,
  attempts integer not null default 0 check (attempts >= 0),
  max_attempts integer not null default 3 check (max_attempts between 1 and 100),
  progress smallint not null default 0 check (progress between 0 and 100),
  progress_message text check (length(progress_message) <= 500),
  run_at timestamptz not null default now(),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  started_at timestamptz,
  finished_at timestamptz
);

comment on table public.jobs is 'Work for the GPU pool; one row per job, all attempts included.';

create index jobs_runnable_idx on public.jobs (priority desc, run_at, created_at)
  where status in ('queued', 'failed');
create index jobs_owner_created_idx on public.jobs (owner_id, created_at desc);

-- updated_at follows every change.
create function kai.touch_updated_at() returns trigger
  language plpgsql
  set search_path = ''
  as $$
begin
  new.updated_at := now();
  return new;
end
$$;

create trigger jobs_touch_updated_at
  before update on public.jobs
  for each row execute function kai.touch_updated_at();

-- Local listeners (the pool waking up, the event stream) hear of new jobs and of every status
-- or progress change on channel kai_jobs; Supabase Realtime sees the same rows through the
-- publication below.
create function kai.notify_job_change() returns trigger
  language plpgsql
  set search_path = ''
  as $$
begin
  perform pg_notify('kai_jobs', json_build_object(
    'op', lower(tg_op),
    'id', new.id,
    'type', new.type,
    'ownerId', new.owner_id,
    'status', new.status,
    'progress', new.progress,
    'progressMessage', new.progress_message
  )::text);
  return null;
end
$$;

create trigger jobs_notify_insert
  after insert on public.jobs
  for each row execute function kai.notify_job_change();

create trigger jobs_notify_change
  after update of status, progress, progress_message on public.jobs
  for each row
  when (
    old.status is distinct from new.status
    or old.progress is distinct from new.progress
    or old.progress_message is distinct from new.progress_message
  )
  execute function kai.notify_job_change();

-- Owners read their own jobs; the service role (the API and the pool) does everything.
alter table public.jobs enable row level security;

create policy jobs_select_own on public.jobs
  for select to authenticated
  using (owner_id = (select auth.uid()));

create policy jobs_service_all on public.jobs
  for all to service_role
  using (true)
  with check (true);

revoke all on public.jobs from anon, authenticated;
grant select on public.jobs to authenticated;
grant all on public.jobs to service_role;

alter publication supabase_realtime add table public.jobs;
