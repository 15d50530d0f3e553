-- The parameter registry: material types with a normalised property vector, the tasks Kai
-- tunes and their parameter spaces, parameter sets per material and task with immutable
-- versions, an active pointer and a log of who changed what and when.
-- core/registry/material-properties.ts documents each dimension of the property vector.

create table public.material_types (
  id uuid primary key default gen_random_uuid(),
  slug text not null unique check (slug ~ '^[a-z][a-z0-9-]{0,62}$'),
  name text not null check (length(name) between 1 and 200),
  category text not null check (category ~ '^[a-z][a-z0-9-]{0,62}$'),
  -- The physical properties as entered (units in the keys), kept for the record.
  properties jsonb not null check (jsonb_typeof(properties) = 'object'),
  -- Eight dimensions, each mapped to [-1, 1]; see material-properties.ts.
  property_vector double precision[] not null
    check (cardinality(property_vector) = 8 and array_position(property_vector, null) is null),
  -- Optional appearance embedding (from the texture network), unit length.
  texture_embedding double precision[]
    check (texture_embedding is null or cardinality(texture_embedding) between 1 and 2048),
  seed boolean not null default false,
  created_by uuid,
  created_at timestamptz not null default now()
);

comment on table public.material_types is
  'Kinds of material (oak, porcelain, ...) with the property vector suggestions compare.';

-- Where pgvector exists, the property vector is also a vector with an HNSW index for cosine
-- nearest-neighbour search; without it Kai scans the (small) property vectors exactly.
do $$
begin
  if exists (select 1 from pg_extension where extname = 'vector') then
    execute 'alter table public.material_types add column property_embedding extensions.vector(8)
      generated always as (property_vector::extensions.vector(8)) stored';
    execute 'create index material_types_property_hnsw_idx on public.material_types
      using hnsw (property_embedding extensions.vector_cosine_ops)';
  end if;
end
$$;

-- A task Kai tunes parameters for, with its parameter space (core/studies/search-space.ts),
-- the values used when nothing better is known, and whether a higher score is better.
create table public.registry_tasks (
  name text primary key check (name ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$'),
  description text not null default '',
  space jsonb not null check (jsonb_typeof(space) = 'object'),
  defaults jsonb not null check (jsonb_typeof(defaults) = 'object'),
  score_direction text not null default 'maximize'
    check (score_direction in ('minimize', 'maximize')),
  created_by uuid,
  created_at timestamptz not null default now()
);

create table public.parameter_sets (
  id uuid primary key default gen_random_uuid(),
  material_id uuid not null references public.material_types (id) on delete cascade,
  task text not null references public.registry_tasks (name) on delete cascade,
  name text not null check (name ~ '^[a-z][a-z0-9_-]{0,62}$'),
  active_version_id uuid,
  next_version integer not null default 1,
  created_by uuid,
  created_at timestamptz not null default now(),
  updated_by uuid,
  updated_at timestamptz not null default now(),
  unique (material_id, task, name)
);

-- Versions never change once written; pruning deletes old ones (never the active or best).
create table public.parameter_set_versions (
  id uuid primary key default gen_random_uuid(),
  set_id uuid not null references public.parameter_sets (id) on delete cascade,
  version integer not null check (version >= 1),
  "values" jsonb not null check (jsonb_typeof("values") = 'object'),
  -- What the values achieved on the task's score (higher is better when the task maximizes).
  score double precision,
  source text not null check (source in ('seed', 'manual', 'suggestion', 'study')),
  study_id uuid,
  trial_number integer,
  note text check (length(note) <= 2000),
  created_by uuid,
  created_at timestamptz not null default now(),
  unique (set_id, version)
);

alter table public.parameter_sets
  add constraint parameter_sets_active_version_fk
  foreign key (active_version_id) references public.parameter_set_versions (id)
  deferrable initially deferred;

create index parameter_set_versions_created_idx on public.parameter_set_versions (created_at);

create function kai.refuse_version_update() returns trigger
  language plpgsql
  set search_path = ''
  as $$
begin
  raise exception 'parameter set versions are immutable; add a new version instead'
    using errcode = 'check_violation';
end
$$;

create trigger parameter_set_versions_immutable
  before update on public.parameter_set_versions
  for each row execute function kai.refuse_version_update();

-- Who changed what and when. Rows outlive the versions they name (version_id goes null).
create table public.parameter_set_changes (
  id bigint generated always as identity primary key,
  set_id uuid not null references public.parameter_sets (id) on delete cascade,
  version_id uuid references public.parameter_set_versions (id) on delete set null,
  version integer,
  action text not null check (action in ('created', 'version_added', 'activated', 'pruned')),
  actor uuid,
  detail jsonb not null default '{}',
  at timestamptz not null default now()
);

create index parameter_set_changes_set_idx on public.parameter_set_changes (set_id, at desc);

-- The registry is shared reference data: every signed-in user reads it and may add to it
-- (rows name their author); versions are never updated, and only the service role deletes.
alter table public.material_types enable row level security;
alter table public.registry_tasks enable row level security;
alter table public.parameter_sets enable row level security;
alter table public.parameter_set_versions enable row level security;
alter table public.parameter_set_changes enable row level security;

create policy material_types_read on public.material_types
  for select to authenticated using (true);
create policy material_types_insert on public.material_types
  for insert to authenticated with check (created_by = (select auth.uid()) and not seed);
create policy registry_tasks_read on public.registry_tasks
  for select to authenticated using (true);
create policy parameter_sets_read on public.parameter_sets
  for select to authenticated using (true);
create policy parameter_sets_insert on public.parameter_sets
  for insert to authenticated with check (created_by = (select auth.uid()));
create policy parameter_sets_update on public.parameter_sets
  for update to authenticated using (true) with check (updated_by = (select auth.uid()));
create policy parameter_set_versions_read on public.parameter_set_versions
  for select to authenticated using (true);
create policy parameter_set_versions_insert on public.parameter_set_versions
  for insert to authenticated with check (created_by = (select auth.uid()));
create policy parameter_set_changes_read on public.parameter_set_changes
  for select to authenticated using (true);
create policy parameter_set_changes_insert on public.parameter_set_changes
  for insert to authenticated with check (actor = (select auth.uid()));

create policy material_types_service_all on public.material_types
  for all to service_role using (true) with check (true);
create policy registry_tasks_service_all on public.registry_tasks
  for all to service_role using (true) with check (true);
create policy parameter_sets_service_all on public.parameter_sets
  for all to service_role using (true) with check (true);
create policy parameter_set_versions_service_all on public.parameter_set_versions
  for all to service_role using (true) with check (true);
create policy parameter_set_changes_service_all on public.parameter_set_changes
  for all to service_role using (true) with check (true);

revoke all on public.material_types, public.registry_tasks, public.parameter_sets,
  public.parameter_set_versions, public.parameter_set_changes from anon, authenticated;
grant select, insert on public.material_types, public.parameter_set_versions,
  public.parameter_set_changes to authenticated;
grant select on public.registry_tasks to authenticated;
grant select, insert on public.parameter_sets to authenticated;
grant update (active_version_id, next_version, updated_by, updated_at)
  on public.parameter_sets to authenticated;
grant all on public.material_types, public.registry_tasks, public.parameter_sets,
  public.parameter_set_versions, public.parameter_set_changes to service_role;
