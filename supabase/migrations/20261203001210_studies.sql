-- Hyperparameter studies with an ask/tell API (core/studies): a search space, a direction,
-- a sampler and a pruner; trials numbered per study; intermediate reports for pruning; prior
-- observations from similar materials' studies for warm starts.

create table public.studies (
  id uuid primary key default gen_random_uuid(),
  owner_id uuid,
  name text not null check (length(name) between 1 and 200),
  material_id uuid references public.material_types (id) on delete set null,
  task text references public.registry_tasks (name) on delete set null,
  space jsonb not null check (jsonb_typeof(space) = 'object'),
  direction text not null check (direction in ('minimize', 'maximize')),
  sampler jsonb not null check (jsonb_typeof(sampler) = 'object'),
  pruner jsonb not null check (jsonb_typeof(pruner) = 'object'),
  -- A running trial whose worker has not heartbeated for this long is failed.
  heartbeat_timeout_ms integer not null default 120000
    check (heartbeat_timeout_ms between 1000 and 86400000),
  -- Trial numbers are handed out from here under the study's row lock: unique and gapless.
  next_trial_number integer not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create index studies_owner_idx on public.studies (owner_id, created_at desc);
create index studies_material_task_idx on public.studies (material_id, task);

create table public.study_trials (
  id uuid primary key default gen_random_uuid(),
  study_id uuid not null references public.studies (id) on delete cascade,
  number integer not null check (number >= 0),
  -- waiting: enqueued with fixed parameters; running: asked, not told; the rest are final.
  state text not null check (state in ('waiting', 'running', 'complete', 'pruned', 'failed')),
  params jsonb not null default '{}',
  -- sampler: chosen by the study's sampler; enqueued: by a user; warm_start: the best of a
  -- similar material's study; retry: a fixed trial re-enqueued after its worker went silent.
  source text not null check (source in ('sampler', 'enqueued', 'warm_start', 'retry')),
  origin jsonb,
  value double precision,
  worker_id text check (length(worker_id) <= 200),
  fail_reason text check (length(fail_reason) <= 2000),
  heartbeat_at timestamptz,
  created_at timestamptz not null default now(),
  started_at timestamptz,
  finished_at timestamptz,
  unique (study_id, number)
);

create index study_trials_state_idx on public.study_trials (study_id, state, number);

create table public.study_trial_reports (
  trial_id uuid not null references public.study_trials (id) on delete cascade,
  study_id uuid not null references public.studies (id) on delete cascade,
  step integer not null check (step >= 0),
  value double precision not null,
  reported_at timestamptz not null default now(),
  primary key (trial_id, step)
);

create index study_trial_reports_step_idx on public.study_trial_reports (study_id, step);

-- Observations borrowed from similar materials' studies: TPE counts them, weighted, as good
-- or bad beside the study's own trials.
create table public.study_priors (
  id bigint generated always as identity primary key,
  study_id uuid not null references public.studies (id) on delete cascade,
  params jsonb not null,
  good boolean not null,
  weight double precision not null check (weight > 0 and weight <= 1),
  source_study_id uuid,
  source_trial_number integer,
  similarity double precision
);

create index study_priors_study_idx on public.study_priors (study_id);

create trigger studies_touch_updated_at
  before update on public.studies
  for each row execute function kai.touch_updated_at();

-- Owners see and drive their own studies; the service role does everything.
alter table public.studies enable row level security;
alter table public.study_trials enable row level security;
alter table public.study_trial_reports enable row level security;
alter table public.study_priors enable row level security;

create policy studies_own on public.studies
  for all to authenticated
  using (owner_id = (select auth.uid()))
  with check (owner_id = (select auth.uid()));

create policy study_trials_own on public.study_trials
  for all to authenticated
  using (exists (select 1 from public.studies s
                 where s.id = study_id and s.owner_id = (select auth.uid())))
  with check (exists (select 1 from public.studies s
                      where s.id = study_id and s.owner_id = (select auth.uid())));

create policy study_trial_reports_own on public.study_trial_reports
  for all to authenticated
  using (exists (select 1 from public.studies s
                 where s.id = study_id and s.owner_id = (select auth.uid())))
  with check (exists (select 1 from public.studies s
                      where s.id = study_id and s.owner_id = (select auth.uid())));

create policy study_priors_own on public.study_priors
  for all to authenticated
  using (exists (select 1 from public.studies s
                 where s.id = study_id and s.owner_id = (select auth.uid())))
  with check (exists (select 1 from public.studies s
                      where s.id = study_id and s.owner_id = (select auth.uid())));

create policy studies_service_all on public.studies
  for all to service_role using (true) with check (true);
create policy study_trials_service_all on public.study_trials
  for all to service_role using (true) with check (true);
create policy study_trial_reports_service_all on public.study_trial_reports
  for all to service_role using (true) with check (true);
create policy study_priors_service_all on public.study_priors
  for all to service_role using (true) with check (true);

revoke all on public.studies, public.study_trials, public.study_trial_reports,
  public.study_priors from anon, authenticated;
grant select, insert, update, delete on public.studies, public.study_trials,
  public.study_trial_reports, public.study_priors to authenticated;
grant all on public.studies, public.study_trials, public.study_trial_reports,
  public.study_priors to service_role;
