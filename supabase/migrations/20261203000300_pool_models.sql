-- What each running pool reports of its model repository, so that the API (which never loads
-- a model) can answer GET /v1/models: one row per pool and model, refreshed while the pool runs.
create table kai.pool_models (
  worker_id text not null,
  name text not null,
  version text not null,
  versions text[] not null,
  ready boolean not null,
  reason text,
  provider text,
  description text not null,
  synthetic boolean not null default false,
  reported_at timestamptz not null default now(),
  primary key (worker_id, name)
);

alter table kai.pool_models enable row level security;
create policy pool_models_service_all on kai.pool_models
  for all to service_role using (true) with check (true);
grant all on kai.pool_models to service_role;
